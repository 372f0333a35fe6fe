//! The bytes of `.model` text as the grammar sees them: `//` comments and `"..."` strings apart
//! from the code. The limits' bracket count and the formatter's scans share this one walk.

use std::ops::Range;

/// A piece of the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// A byte of code at this offset (strings' contents are neither code nor comment).
    Code(usize, u8),
    /// A `//` comment, to the end of its line.
    Comment(Range<usize>),
}

/// The pieces of `text` from byte `from`, in order.
pub fn pieces(text: &str, from: usize) -> impl Iterator<Item = Piece> + '_ {
    let bytes = text.as_bytes();
    let mut i = from;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let at = i;
            match bytes[i] {
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    return Some(Piece::Comment(at..i));
                }
                b'"' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                        i += 1;
                    }
                    i += 1;
                }
                b => {
                    i += 1;
                    return Some(Piece::Code(at, b));
                }
            }
        }
        None
    })
}
