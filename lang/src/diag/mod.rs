//! Diagnostics in the style of rustc: a code, a message that stands on its own, the smallest
//! span with a terse label, then notes and help.

mod codes;
mod source;
mod suggest;

pub use codes::Code;
pub use source::{FileId, SourceMap, Span};
pub use suggest::{did_you_mean, edit_distance};

use codespan_reporting::diagnostic as cs;
use codespan_reporting::term;

/// A labelled span.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One error, with everything needed to render it.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    pub primary: Option<Label>,
    pub secondary: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Vec<String>,
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            notes: Vec::new(),
            help: Vec::new(),
        }
    }

    pub fn at(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.primary = Some(Label { span, message: label.into() });
        self
    }

    pub fn also(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label { span, message: label.into() });
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help.push(help.into());
        self
    }

    /// Adds "did you mean" help when a candidate is close to `name`.
    pub fn suggest<'a>(self, name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Diagnostic {
        match did_you_mean(name, candidates) {
            Some(best) => self.help(format!("did you mean `{best}`?")),
            None => self,
        }
    }

    /// Renders as plain text (no colour), as the snapshots and the proc macro show it.
    pub fn render(&self, sources: &SourceMap) -> String {
        let config = term::Config::default();
        term::emit_into_string(&config, sources.files(), &self.to_codespan())
            .unwrap_or_else(|_| format!("error[{}]: {}\n", self.code, self.message))
    }

    /// Writes with colour where the stream supports it.
    pub fn emit(&self, sources: &SourceMap, out: &mut dyn term::termcolor::WriteColor) {
        let config = term::Config::default();
        let diagnostic = self.to_codespan();
        if term::emit_to_write_style(out, &config, sources.files(), &diagnostic).is_err() {
            let _ = writeln!(out, "error[{}]: {}", self.code, self.message);
        }
    }

    fn to_codespan(&self) -> cs::Diagnostic<FileId> {
        let mut labels = Vec::new();
        if let Some(p) = &self.primary {
            labels.push(cs::Label::primary(p.span.file, p.span.range()).with_message(&p.message));
        }
        for s in &self.secondary {
            labels.push(cs::Label::secondary(s.span.file, s.span.range()).with_message(&s.message));
        }
        let notes = self
            .notes
            .iter()
            .map(|n| format!("note: {n}"))
            .chain(self.help.iter().map(|h| format!("help: {h}")))
            .collect();
        cs::Diagnostic::error()
            .with_code(self.code.id())
            .with_message(&self.message)
            .with_labels(labels)
            .with_notes(notes)
    }
}

/// Every error found in one compilation, with the sources they point into.
#[derive(Debug)]
pub struct Diagnostics {
    pub sources: SourceMap,
    pub errors: Vec<Diagnostic>,
}

impl Diagnostics {
    /// All errors rendered as plain text, separated by blank lines.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.errors {
            out.push_str(&d.render(&self.sources));
        }
        out
    }

    pub fn emit(&self, out: &mut dyn term::termcolor::WriteColor) {
        for d in &self.errors {
            d.emit(&self.sources, out);
        }
    }

    pub fn codes(&self) -> Vec<Code> {
        self.errors.iter().map(|d| d.code).collect()
    }

    /// Every error as a [`DiagnosticRecord`], for machine-readable output (`--json`).
    pub fn records(&self) -> Vec<DiagnosticRecord> {
        self.errors
            .iter()
            .map(|d| {
                let place = d.primary.as_ref().map(|l| (self.sources.name(l.span.file), self.sources.line_col(l.span)));
                DiagnosticRecord {
                    code: d.code.id(),
                    message: d.message.clone(),
                    file: place.map(|(name, _)| name.to_string()),
                    line: place.map(|(_, (line, _))| line),
                    column: place.map(|(_, (_, column))| column),
                    rendered: d.render(&self.sources),
                }
            })
            .collect()
    }
}

/// One error in machine-readable form: where it is and what it says, with the text rendering.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DiagnosticRecord {
    /// `M0026`.
    pub code: String,
    pub message: String,
    /// The file of the primary label, if the error has one.
    pub file: Option<String>,
    /// 1-based line of the primary label.
    pub line: Option<usize>,
    /// 1-based column (characters) of the primary label.
    pub column: Option<usize>,
    /// The diagnostic as `check` prints it, without colour.
    pub rendered: String,
}

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}
