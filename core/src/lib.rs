//! tinyarch's engine: what runs a model that `tinyarch-lang` checked.
//!
//! The pipeline, one module per step: `tinyarch-lang` (parse, AST, resolve, graph IR, check,
//! FLOP plan) `-> backend (build) -> train -> report`, with the corpora in `data` and sweeps in
//! `experiment`. The language crate's modules are re-exported here under their own names, so
//! that `tinyarch_core::ir` is `tinyarch_lang::ir`.
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
pub mod experiment;
pub mod report;
pub mod rng;
pub mod train;

/// The language crate: `lang::resolve_file`, `lang::Options`, `lang::ast`.
pub use tinyarch_lang as lang;
pub use tinyarch_lang::{
    Checked, Convention, Diagnostics, Limits, Objective, Options, Registry, check_file, check_source,
};
pub use tinyarch_lang::{diag, ir, layers, units};

/// The tensor library plugins build on, re-exported so that an embedding program uses the same version.
pub use dfdx;
