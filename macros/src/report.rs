//! tinyarch diagnostics as Rust compile errors: one `compile_error!` per diagnostic, spanned at
//! the tokens the diagnostic points at (an inline model, an override), or at the path of an
//! included file with the file, line and column in the message.

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};
use tinyarch_lang::diag::{self, Diagnostic, Diagnostics, SourceMap};

use crate::text::Spanned;

/// A compile error: its message and the tokens it covers.
pub struct Error {
    first: Span,
    last: Span,
    message: String,
}

impl Error {
    pub fn at(span: Span, message: impl Into<String>) -> Error {
        Error { first: span, last: span, message: message.into() }
    }

    /// `::core::compile_error! { "..." }`, spanned from `first` to `last` as rustc reports a
    /// macro call: from its path to its closing delimiter.
    fn tokens(&self) -> TokenStream {
        let first = self.first;
        let path = [
            punct(':', Spacing::Joint, first),
            punct(':', Spacing::Alone, first),
            TokenTree::Ident(Ident::new("core", first)),
            punct(':', Spacing::Joint, first),
            punct(':', Spacing::Alone, first),
            TokenTree::Ident(Ident::new("compile_error", first)),
            punct('!', Spacing::Alone, first),
        ];
        let mut message = Literal::string(&self.message);
        message.set_span(self.last);
        let mut body = Group::new(Delimiter::Brace, TokenStream::from(TokenTree::Literal(message)));
        body.set_span(self.last);
        path.into_iter().chain([TokenTree::Group(body)]).collect()
    }
}

fn punct(c: char, spacing: Spacing, span: Span) -> TokenTree {
    let mut p = Punct::new(c, spacing);
    p.set_span(span);
    TokenTree::Punct(p)
}

/// Every error as an expression: `{ compile_error!{..}; ...; compile_error!{..} }`. The last is
/// the block's value, so no type error follows from the missing model.
pub fn expression(errors: &[Error]) -> TokenStream {
    let mut body = TokenStream::new();
    for (i, error) in errors.iter().enumerate() {
        body.extend(error.tokens());
        if i + 1 < errors.len() {
            body.extend([punct(';', Spacing::Alone, Span::call_site())]);
        }
    }
    TokenStream::from(TokenTree::Group(Group::new(Delimiter::Brace, body)))
}

/// Where the checked sources came from, to put diagnostics back on the user's tokens.
pub struct Origin<'a> {
    pub root: Root<'a>,
    /// The macro's overrides, in the order they were given to the checker.
    pub overrides: &'a [Spanned],
    /// Stripped from file names so that messages carry no absolute paths.
    pub manifest_dir: &'a str,
}

pub enum Root<'a> {
    /// `model!`: the model's tokens.
    Inline(&'a Spanned),
    /// `include_model!`: the path literal's span.
    File(Span),
}

/// Where a diagnostic span lies.
enum Place<'a> {
    Tokens(&'a Spanned),
    /// A model file or an include: only the path literal (or the macro call) can be pointed at.
    File,
}

impl Origin<'_> {
    /// One compile error per diagnostic.
    pub fn errors(&self, diagnostics: &Diagnostics) -> Vec<Error> {
        diagnostics.errors.iter().map(|d| self.error(d, &diagnostics.sources)).collect()
    }

    fn error(&self, d: &Diagnostic, sources: &SourceMap) -> Error {
        let located = d.primary.as_ref().and_then(|label| match self.place(label.span, sources) {
            Place::Tokens(tokens) => tokens.locate(label.span.range()),
            Place::File => None,
        });
        match located {
            Some((first, last)) => Error { first, last, message: self.token_message(d, sources) },
            None => Error::at(self.fallback(), self.file_message(d, sources)),
        }
    }

    fn place(&self, span: diag::Span, sources: &SourceMap) -> Place<'_> {
        if sources.name(span.file) == OVERRIDE_FILE {
            // Overrides are added to the source map in order, each as its own file.
            let index = (0..span.file).filter(|&id| sources.name(id) == OVERRIDE_FILE).count();
            return self.overrides.get(index).map_or(Place::File, Place::Tokens);
        }
        match self.root {
            Root::Inline(tokens) if span.file == 0 => Place::Tokens(tokens),
            _ => Place::File,
        }
    }

    fn fallback(&self) -> Span {
        match self.root {
            Root::Inline(tokens) => tokens.first_span().unwrap_or_else(Span::call_site),
            Root::File(span) => span,
        }
    }

    /// For an error spanned at the user's tokens: the message, then the label, notes and help
    /// that rustc cannot attach to a `compile_error!`.
    fn token_message(&self, d: &Diagnostic, sources: &SourceMap) -> String {
        let mut out = format!("[{}] {}", d.code, d.message);
        if let Some(label) = d.primary.as_ref().filter(|l| !l.message.is_empty()) {
            out.push_str(&format!("\n= label: {}", label.message));
        }
        for label in &d.secondary {
            out.push_str(&format!("\n= note: {} ({})", label.message, self.where_is(label.span, sources)));
        }
        for note in &d.notes {
            out.push_str(&format!("\n= note: {note}"));
        }
        for help in &d.help {
            out.push_str(&format!("\n= help: {help}"));
        }
        out
    }

    /// For an error in a file: its place in the first line, then tinyarch's rendering with the
    /// source line and caret.
    fn file_message(&self, d: &Diagnostic, sources: &SourceMap) -> String {
        let rendered = self.clean(&d.render(sources));
        // The first line repeats `error[M00xx]: message`; the rest shows the file.
        let body = rendered.split_once('\n').map_or("", |(_, rest)| rest).trim_end();
        let place = match &d.primary {
            Some(label) => format!("{}: ", self.where_is(label.span, sources)),
            None => String::new(),
        };
        let first = format!("[{}] {place}{}", d.code, d.message);
        if body.is_empty() { first } else { format!("{first}\n{body}") }
    }

    /// `line 12` for inline tokens, `models/m.model:12:5` in a file, `override `d = 3`` for an override.
    fn where_is(&self, span: diag::Span, sources: &SourceMap) -> String {
        match self.place(span, sources) {
            Place::Tokens(tokens) if sources.name(span.file) == OVERRIDE_FILE => {
                format!("in the override `{}`", tokens.text)
            }
            Place::Tokens(tokens) => match tokens.locate(span.range()) {
                Some((first, _)) => format!("line {}", first.line()),
                None => "in the model".into(),
            },
            Place::File => {
                let (line, column) = sources.line_col(span);
                format!("{}:{line}:{column}", self.clean(sources.name(span.file)))
            }
        }
    }

    fn clean(&self, text: &str) -> String {
        text.replace(&format!("{}/", self.manifest_dir), "")
    }
}

/// The name the checker gives each `--set` override's source.
const OVERRIDE_FILE: &str = "--set";
