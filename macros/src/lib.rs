//! Models embedded in Rust and checked when the program compiles: [`model!`] for a model written
//! inline, [`include_model!`] for a `.model` file. Both run tinyarch's real parser, resolver and
//! checker inside the compiler; a model that does not check is a compile error at the offending
//! token (inline) or at the path with the file, line and column (included), carrying the
//! diagnostic's code, message and help.
//!
//! Use them through the `tinyarch` crate (`tinyarch::model!`): they expand to
//! `::tinyarch::embed::Embedded<VOCAB, CONTEXT>`, whose vocabulary and context are in its type,
//! so the using crate must depend on `tinyarch` under that name. A macro never panics: every
//! failure, even an internal one, is a compile error.

mod args;
mod expand;
mod report;
mod text;

use std::panic::{AssertUnwindSafe, catch_unwind};

use proc_macro::{Span, TokenStream};

/// A model written inline, checked at compile time.
///
/// The input is the vocabulary size and optional parameter overrides, then `;`, then the model
/// in `.model` syntax. `//` comments are fine (rustc drops them); `use "file.model"` paths start
/// at the using crate's `CARGO_MANIFEST_DIR`.
///
/// ```
/// let tiny = tinyarch::model! {
///     vocab = 65, d = 32;
///     model tiny(context = 8, d = 16) {
///         embedding(dim = d)
///         flatten()
///         head()
///     }
/// };
/// // The type carries the vocabulary and the context: `Embedded<65, 8>`.
/// let _: &tinyarch::embed::Embedded<65, 8> = &tiny;
/// assert_eq!(tiny.name(), "tiny");
/// ```
///
/// A model that does not check does not compile:
///
/// ```compile_fail
/// let broken = tinyarch::model! {
///     vocab = 65;
///     model broken(context = 8, d = 30) {
///         embedding(dim = d)
///         attention(heads = 4) // 4 heads do not divide 30
///         head()
///     }
/// };
/// ```
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    guard(|| expand::inline(input))
}

/// A `.model` file, checked at compile time, its text (and its includes) embedded in the program.
///
/// The path is relative to the `CARGO_MANIFEST_DIR` of the crate that uses the macro; the
/// vocabulary size is required and any other `name = value` overrides a parameter. The crate
/// is rebuilt when the file or a file it includes changes.
///
/// ```
/// // Relative to the folder of the crate that uses the macro (here, the macros crate's).
/// const TRANSFORMER: tinyarch::embed::Embedded<65, 64> =
///     tinyarch::include_model!("../models/study/transformer.model", vocab = 65, context = 64);
/// assert_eq!(TRANSFORMER.name(), "transformer");
/// ```
#[proc_macro]
pub fn include_model(input: TokenStream) -> TokenStream {
    guard(|| expand::file(input))
}

/// A bug in the checker must not crash the compiler's macro expansion: it becomes an error too.
fn guard(expand: impl FnOnce() -> TokenStream) -> TokenStream {
    catch_unwind(AssertUnwindSafe(expand)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        let message = format!("tinyarch's checker failed on this model ({what}); this is a bug in tinyarch");
        report::expression(&[report::Error::at(Span::call_site(), message)])
    })
}
