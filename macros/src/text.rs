//! Rust tokens back to `.model` text, remembering which token each byte came from, so that a
//! diagnostic's byte span can be put back on the token the user wrote.
//!
//! rustc drops `//` comments and gives every token its line and column; the text keeps that
//! layout (lines, indentation relative to the least indented line, gaps between tokens), so a
//! saved model reads as written. Doc comments (`///`), which rustc turns into `#[doc]`
//! attributes, become `//` comments again.

use proc_macro::{Delimiter, Span, TokenTree};
use std::ops::Range;

/// Text made from tokens, with the span of the token behind every piece of it.
pub struct Spanned {
    pub text: String,
    pieces: Vec<Piece>,
}

struct Piece {
    bytes: Range<usize>,
    span: Span,
}

/// One token as text: a leaf, a delimiter, or a comment rebuilt from a doc attribute.
struct Leaf {
    text: String,
    span: Span,
}

impl Spanned {
    pub fn new(tokens: impl IntoIterator<Item = TokenTree>) -> Spanned {
        let mut leaves = Vec::new();
        flatten(tokens.into_iter().collect(), &mut leaves);
        layout(&leaves)
    }

    /// The first and last tokens behind `bytes`: the span a compile error should cover.
    /// An empty range, or one past the end, gets the nearest token.
    pub fn locate(&self, bytes: Range<usize>) -> Option<(Span, Span)> {
        let last_index = self.pieces.len().checked_sub(1)?;
        let first = self.pieces.iter().position(|p| p.bytes.end > bytes.start).unwrap_or(last_index);
        let last = self.pieces.iter().rposition(|p| p.bytes.start < bytes.end).filter(|&l| l >= first).unwrap_or(first);
        Some((self.pieces[first].span, self.pieces[last].span))
    }

    /// The span of the first token, if there is one.
    pub fn first_span(&self) -> Option<Span> {
        self.pieces.first().map(|p| p.span)
    }
}

fn flatten(tokens: Vec<TokenTree>, out: &mut Vec<Leaf>) {
    let mut i = 0;
    while i < tokens.len() {
        if let Some((comment, used)) = doc_comment(&tokens[i..]) {
            out.push(comment);
            i += used;
            continue;
        }
        match &tokens[i] {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    // Tokens a `macro_rules!` passed in as one fragment: no delimiters of their own.
                    Delimiter::None => ("", ""),
                };
                if !open.is_empty() {
                    out.push(Leaf { text: open.into(), span: group.span_open() });
                }
                flatten(group.stream().into_iter().collect(), out);
                if !close.is_empty() {
                    out.push(Leaf { text: close.into(), span: group.span_close() });
                }
            }
            other => out.push(Leaf { text: other.to_string(), span: other.span() }),
        }
        i += 1;
    }
}

/// `#[doc = "..."]` or `#![doc = "..."]` (a `///` or `//!` comment) as a `//` comment, and the
/// number of tokens it took.
fn doc_comment(tokens: &[TokenTree]) -> Option<(Leaf, usize)> {
    let TokenTree::Punct(hash) = tokens.first()? else { return None };
    if hash.as_char() != '#' {
        return None;
    }
    let (group, used) = match tokens.get(1)? {
        TokenTree::Punct(bang) if bang.as_char() == '!' => (tokens.get(2)?, 3),
        group => (group, 2),
    };
    let TokenTree::Group(group) = group else { return None };
    if group.delimiter() != Delimiter::Bracket {
        return None;
    }
    let inner: Vec<TokenTree> = group.stream().into_iter().collect();
    let [TokenTree::Ident(doc), TokenTree::Punct(eq), TokenTree::Literal(text)] = inner.as_slice() else {
        return None;
    };
    if doc.to_string() != "doc" || eq.as_char() != '=' {
        return None;
    }
    let body = string_value(&text.to_string()).unwrap_or_else(|| text.to_string());
    Some((Leaf { text: format!("//{}", body.replace('\n', "\n//")), span: hash.span() }, used))
}

/// The value of a string literal without escapes (`"..."`, `r"..."`, `r#"..."#`), as written.
pub fn string_value(literal: &str) -> Option<String> {
    if let Some(raw) = literal.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let fence = "#".repeat(hashes);
        let body = raw.strip_prefix(&fence)?.strip_prefix('"')?.strip_suffix(&fence)?.strip_suffix('"')?;
        return Some(body.to_string());
    }
    let body = literal.strip_prefix('"')?.strip_suffix('"')?;
    (!body.contains('\\')).then(|| body.to_string())
}

/// Lays the leaves out as the source had them.
fn layout(leaves: &[Leaf]) -> Spanned {
    // Indentation is kept relative to the least indented line.
    let mut margin = usize::MAX;
    let mut previous_line = None;
    for leaf in leaves {
        let line = leaf.span.line();
        if previous_line != Some(line) {
            margin = margin.min(leaf.span.column());
        }
        previous_line = Some(leaf.span.end().line());
    }
    let mut out = Spanned { text: String::new(), pieces: Vec::with_capacity(leaves.len()) };
    let mut previous: Option<(usize, usize)> = None;
    let mut after_comment = false;
    for leaf in leaves {
        let (line, column) = (leaf.span.line(), leaf.span.column());
        let mut gap = match previous {
            None => String::new(),
            Some((end_line, _)) if line > end_line => {
                // A span from elsewhere (another file, a macro) must not add pages of blank lines.
                let newlines = (line - end_line).min(3);
                "\n".repeat(newlines) + &" ".repeat(column.saturating_sub(margin))
            }
            Some((end_line, end_column)) if line == end_line && column >= end_column => " ".repeat(column - end_column),
            // Out of order (tokens from a macro): a space keeps them apart.
            Some(_) => " ".into(),
        };
        // A comment runs to the end of its line: what follows must start a new one.
        if after_comment && !gap.contains('\n') {
            gap = "\n".into();
        }
        after_comment = leaf.text.starts_with("//");
        out.text.push_str(&gap);
        let start = out.text.len();
        out.text.push_str(&leaf.text);
        out.pieces.push(Piece { bytes: start..out.text.len(), span: leaf.span });
        previous = Some((leaf.span.end().line(), leaf.span.end().column()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::string_value;

    #[test]
    fn string_literals_without_escapes_give_their_text() {
        assert_eq!(string_value(r#""models/m.model""#).as_deref(), Some("models/m.model"));
        assert_eq!(string_value(r##"r"a\b""##).as_deref(), Some(r"a\b"));
        assert_eq!(string_value(r###"r#"say "hi""#"###).as_deref(), Some(r#"say "hi""#));
        // Escapes would need unescaping: refused rather than misread.
        assert_eq!(string_value(r#""a\nb""#), None);
        assert_eq!(string_value("65"), None);
        assert_eq!(string_value(r#"r#"unclosed""#), None);
    }
}
