//! The language's limits. Each is far above what a real model needs and far below what could
//! exhaust the stack, the memory or the patience of whoever runs the check; crossing one is a
//! coded diagnostic at the place it happens (the book's language chapter lists them).

use crate::diag::{Code, Diagnostic, FileId, Span};
use crate::lexical::{Piece, pieces};

/// Brackets open at once, `{` and `(` together: bodies inside bodies, parentheses inside
/// parentheses. The parser recurses on them, so they are counted before it runs.
pub const MAX_NESTING: usize = 32;
/// Operators in one expression, its parentheses included (`-` in front counts too).
pub const MAX_EXPRESSION_OPERATORS: usize = 128;
/// Bodies being expanded at once: nested `repeat`, `if` and `residual` bodies, and the bodies
/// of the blocks that call each other.
pub const MAX_EXPANSION_DEPTH: usize = 64;
/// Files open at once through `use`, the model's own included.
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// Layers (and residual joins) a model may expand to.
pub const MAX_NODES: usize = 100_000;
/// Statements and repeat iterations expanded in all, layers or not: stops `repeat` over empty
/// bodies and blocks that fan out exponentially, in milliseconds.
pub const MAX_EXPANSION_STEPS: u64 = 1_000_000;
/// Errors collected before the expansion stops: enough to fix, never a flood.
pub const MAX_ERRORS: usize = 100;
/// Bytes of a model file.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Refuses text whose brackets nest deeper than [`MAX_NESTING`], before the parser recurses on
/// them. Comments and strings are skipped as the grammar reads them.
pub fn check_nesting(file: FileId, text: &str) -> Result<(), Diagnostic> {
    let mut depth = 0usize;
    for piece in pieces(text, 0) {
        match piece {
            Piece::Code(i, b'{' | b'(') => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(Diagnostic::new(Code::TooDeep, format!("brackets nest more than {MAX_NESTING} deep"))
                        .at(Span::new(file, i..i + 1), format!("opens level {depth}"))
                        .help("move the inner part into a `block` of its own, or simplify the expression"));
                }
            }
            Piece::Code(_, b'}' | b')') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}
