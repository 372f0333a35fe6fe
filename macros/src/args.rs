//! The macros' own arguments: `vocab = 65` and parameter overrides (`layers = 2`), and
//! `include_model!`'s path.

use crate::report::Error;
use crate::text::{Spanned, string_value};
use proc_macro::{Span, TokenTree};

/// What a macro call sets besides the model text.
pub struct Settings {
    pub vocab: u64,
    /// `name = value` each, as `--set` would take them.
    pub overrides: Vec<Spanned>,
}

/// `model!`'s input split at the first top-level `;`: the settings before it, the model after.
/// Without a `;`, everything is the model.
pub fn split_header(tokens: Vec<TokenTree>) -> (Vec<TokenTree>, Vec<TokenTree>) {
    match tokens.iter().position(|t| is_punct(t, ';')) {
        Some(at) => {
            let mut header = tokens;
            let body = header.split_off(at + 1);
            header.pop();
            (header, body)
        }
        None => (Vec::new(), tokens),
    }
}

/// `include_model!`'s input: the path literal, its span, and the tokens after the comma.
pub fn split_path(tokens: Vec<TokenTree>) -> Result<(String, Span, Vec<TokenTree>), Error> {
    let mut tokens = tokens.into_iter();
    let usage = "expected a path and the vocabulary: `include_model!(\"models/m.model\", vocab = 65)`";
    let Some(TokenTree::Literal(literal)) = tokens.next() else {
        return Err(Error::at(Span::call_site(), usage));
    };
    let Some(path) = string_value(&literal.to_string()) else {
        return Err(Error::at(literal.span(), "write the path as a string literal without escapes"));
    };
    let rest: Vec<TokenTree> = match tokens.next() {
        None => Vec::new(),
        Some(t) if is_punct(&t, ',') => tokens.collect(),
        Some(t) => return Err(Error::at(t.span(), "expected `,` after the path")),
    };
    Ok((path, literal.span(), rest))
}

/// Parses `vocab = 65, name = value, ...`; `vocab` is required.
pub fn settings(tokens: Vec<TokenTree>, call: Span) -> Result<Settings, Error> {
    let mut vocab: Option<u64> = None;
    let mut overrides = Vec::new();
    for entry in split_commas(tokens) {
        let (name, value) = match entry.as_slice() {
            [TokenTree::Ident(name), eq, value @ ..] if is_punct(eq, '=') && !value.is_empty() => (name, value),
            [first, ..] => return Err(Error::at(first.span(), "expected a setting `name = value`")),
            [] => continue,
        };
        if name.to_string() != "vocab" {
            overrides.push(Spanned::new(entry.iter().cloned()));
            continue;
        }
        if vocab.is_some() {
            return Err(Error::at(name.span(), "`vocab` is given twice"));
        }
        vocab = Some(vocab_value(value)?);
    }
    let Some(vocab) = vocab else {
        return Err(Error::at(
            call,
            "the vocabulary size is missing: give it first, as in `vocab = 65;` for `model!` or \
             `include_model!(\"m.model\", vocab = 65)`",
        ));
    };
    Ok(Settings { vocab, overrides })
}

fn vocab_value(value: &[TokenTree]) -> Result<u64, Error> {
    let not_an_integer = |span| Error::at(span, "`vocab` must be a positive integer literal such as `65`");
    let [TokenTree::Literal(literal)] = value else {
        return Err(not_an_integer(value[0].span()));
    };
    let digits = literal.to_string().replace('_', "");
    match digits.parse::<u64>() {
        Ok(v) if v > 0 && v <= u32::MAX as u64 => Ok(v),
        _ => Err(not_an_integer(literal.span())),
    }
}

fn split_commas(tokens: Vec<TokenTree>) -> Vec<Vec<TokenTree>> {
    let mut out = vec![Vec::new()];
    for token in tokens {
        if is_punct(&token, ',') {
            out.push(Vec::new());
        } else if let Some(last) = out.last_mut() {
            last.push(token);
        }
    }
    out
}

fn is_punct(token: &TokenTree, c: char) -> bool {
    matches!(token, TokenTree::Punct(p) if p.as_char() == c)
}
