//! tinyarch: compare small language-model architectures under a fixed compute budget.
//!
//! The engine lives in `tinyarch-core` (language, checker, layer plugins, backend, corpora,
//! training); this crate re-exports it whole, adds the command-line tool, and the macros that
//! check models embedded in Rust when the program compiles.

pub use tinyarch_core::*;

pub mod embed;

/// Models embedded in Rust, checked when the program compiles (see [`embed`]).
pub use tinyarch_macros::{include_model, model};
