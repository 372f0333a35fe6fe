//! tinyarch: describe small language models in `.model` files, check them statically,
//! and compare them under a fixed training-FLOP budget.
//!
//! The pipeline, one module per arrow:
//! `source -> lang (parse, AST, resolve) -> ir (graph, check) -> backend -> train -> report`.

pub mod data;
pub mod diag;
pub mod ir;
pub mod lang;
pub mod layers;
pub mod rng;
