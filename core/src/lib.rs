//! tinyarch: describe small language models in `.model` files, check them statically,
//! and compare them under a fixed training-FLOP budget.
//!
//! The pipeline, one module per step:
//! `source -> lang (parse, AST, resolve) -> ir (graph, check) -> backend -> train -> report`.
//!
//! ```
//! let source = "model tiny(context = 8, d = 16) { embedding(dim = d) head() }";
//! let model = tinyarch_core::check_source("tiny.model", source, &tinyarch_core::Options::vocab(65)).unwrap();
//! assert_eq!(model.summary.params, 65 * 16 + 16 * 65 + 65);
//! ```

// Diagnostics are large but only built on the error path, never in a hot loop.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod backend;
pub mod bench;
pub mod data;
pub mod diag;
pub mod experiment;
pub mod ir;
pub mod lang;
pub mod layers;
pub mod report;
pub mod rng;
pub mod train;
pub mod units;

/// The tensor library plugins build on, re-exported so that an embedding program uses the same version.
pub use dfdx;
pub use diag::Diagnostics;
pub use ir::{Checked, Convention, Limits};
pub use lang::Options;
pub use layers::Registry;

use std::path::Path;

/// Parses, resolves and checks a model file with the built-in layers and default limits.
pub fn check_file(path: &Path, options: &Options) -> Result<Checked, Diagnostics> {
    let graph = lang::resolve_file(path, &Registry::default(), options)?;
    ir::check(graph, &Limits::default())
}

/// Like [`check_file`] for a model given as text (includes are not allowed).
pub fn check_source(name: &str, text: &str, options: &Options) -> Result<Checked, Diagnostics> {
    let graph = lang::resolve_source(name, text, None, &Registry::default(), options)?;
    ir::check(graph, &Limits::default())
}
