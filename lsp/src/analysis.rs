//! One document's analysis: parsed, resolved and checked on every change, then queried by the
//! requests.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types::{
    CompletionItem, CompletionItemKind, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Documentation,
    GotoDefinitionResponse, Hover, HoverContents, InlayHint, InlayHintKind, InlayHintLabel, Location, MarkupContent,
    MarkupKind, NumberOrString, Position, Range, TextEdit, Uri,
};
use tinyarch_lang::ast;
use tinyarch_lang::diag::{Code, Diagnostics, Span};
use tinyarch_lang::ir::{self, Checked, Convention, Limits, Objective, Op};
use tinyarch_lang::layers::LayerKind;
use tinyarch_lang::units::{human, thousands};
use tinyarch_lang::{Options, Registry, format, parse_file, resolve_source};

use crate::project::{self, Project};
use crate::text::{LineIndex, word_at};

/// A document and everything known about it.
pub struct Analysis {
    uri: Uri,
    dir: Option<PathBuf>,
    text: String,
    index: LineIndex,
    pub diagnostics: Vec<Diagnostic>,
    checked: Option<Checked>,
    objective: Objective,
    ast: Option<ast::File>,
    /// Why no shapes are shown, said on the model's name.
    missing: Option<String>,
    /// Blocks and their parameters, also while the text does not parse (as the user types).
    blocks: Vec<(String, Vec<String>)>,
}

impl Analysis {
    pub fn new(uri: &Uri, text: String, registry: &Registry, fallback: &Project) -> Analysis {
        let path = file_path(uri);
        let dir = path.as_deref().and_then(Path::parent).map(Path::to_path_buf);
        let mut diagnostics = Vec::new();
        let project = match dir.as_deref().and_then(Project::find) {
            Some(Ok((p, _))) => p,
            Some(Err(message)) => {
                diagnostics.push(warning(Range::default(), format!("cannot read the project file {message}")));
                fallback.clone()
            }
            None => fallback.clone(),
        };
        let objective = project.objective.as_deref().and_then(|o| o.parse().ok()).unwrap_or_default();
        let options = Options { vocab: project.vocab, overrides: project.overrides.clone() };
        let index = LineIndex::new(&text);
        let ast = parse_file(0, &text).ok();
        let name = path.as_ref().map_or_else(|| uri.as_str().to_string(), |p| p.display().to_string());
        let result = resolve_source(&name, &text, dir.as_deref(), registry, &options)
            .and_then(|graph| ir::check(graph, &Limits::default()));
        let blocks = match &ast {
            Some(a) => a
                .blocks
                .iter()
                .map(|b| (b.name.name.clone(), b.params.iter().map(|p| p.name.name.clone()).collect()))
                .collect(),
            None => lexical_blocks(&text),
        };
        let mut analysis = Analysis {
            uri: uri.clone(),
            dir,
            text,
            index,
            diagnostics,
            checked: None,
            objective,
            ast,
            missing: None,
            blocks,
        };
        match result {
            Ok(checked) => analysis.checked = Some(checked),
            Err(d) if project.vocab.is_none() && d.codes() == [Code::VocabUnknown] => {
                analysis.missing = Some(format!(
                    "vocabulary unknown: set `vocab` in a `{}` beside the model for shapes",
                    project::FILE
                ));
            }
            Err(d) => {
                let converted = analysis.convert(&d);
                analysis.diagnostics.extend(converted);
            }
        }
        analysis
    }

    /// The checker's diagnostics as LSP ones: code, range, message with notes and help, and the
    /// secondary labels as related information.
    fn convert(&self, d: &Diagnostics) -> Vec<Diagnostic> {
        d.errors
            .iter()
            .map(|e| {
                let range = e.primary.as_ref().map_or(Range::default(), |l| self.range_of(l.span));
                let mut message = e.message.clone();
                if let Some(label) = e.primary.as_ref().filter(|l| l.span.file != 0) {
                    message.push_str(&format!("\nin `{}`: {}", d.sources.name(label.span.file), label.message));
                }
                for note in &e.notes {
                    message.push_str(&format!("\nnote: {note}"));
                }
                for help in &e.help {
                    message.push_str(&format!("\nhelp: {help}"));
                }
                let related = e
                    .secondary
                    .iter()
                    .filter_map(|l| {
                        let uri = if l.span.file == 0 {
                            self.uri.clone()
                        } else {
                            file_uri(Path::new(d.sources.name(l.span.file)))?
                        };
                        let range = if l.span.file == 0 {
                            self.range_of(l.span)
                        } else {
                            LineIndex::new(d.sources.text(l.span.file)).range(
                                d.sources.text(l.span.file),
                                l.span.start,
                                l.span.end,
                            )
                        };
                        Some(DiagnosticRelatedInformation {
                            location: Location::new(uri, range),
                            message: l.message.clone(),
                        })
                    })
                    .collect::<Vec<_>>();
                Diagnostic {
                    range,
                    severity: Some(DiagnosticSeverity::ERROR),
                    code: Some(NumberOrString::String(e.code.id())),
                    source: Some("tinyarch".into()),
                    message,
                    related_information: (!related.is_empty()).then_some(related),
                    ..Diagnostic::default()
                }
            })
            .collect()
    }

    /// A span of this document as a range; a span elsewhere (an included file, `--set`) as the
    /// first `use` line, or the start.
    fn range_of(&self, span: Span) -> Range {
        if span.file == 0 {
            return self.index.range(&self.text, span.start, span.end);
        }
        let first_use = self.ast.as_ref().and_then(|a| a.uses.first()).map(|u| u.span);
        first_use.map_or(Range::default(), |s| self.index.range(&self.text, s.start, s.end))
    }

    /// Each layer's output shape at the end of its call, and the model's totals on its name.
    pub fn inlay_hints(&self, range: Range) -> Vec<InlayHint> {
        let mut hints = Vec::new();
        if let (Some(missing), Some(model)) = (&self.missing, self.ast.as_ref().and_then(|a| a.models.first())) {
            hints.push(hint(self.index.position(&self.text, model.name.span.end), format!("  {missing}")));
        }
        let Some(c) = &self.checked else {
            return hints;
        };
        if c.graph.name_span.file == 0 {
            let plan = c.plan(self.objective);
            let label = format!(
                "  {} params, {} training FLOPs per sample (`{}`, exact)",
                thousands(c.summary.params),
                human(plan.training.get(Convention::Exact)),
                self.objective
            );
            hints.push(hint(self.index.position(&self.text, c.graph.name_span.end), label));
        }
        let mut seen = std::collections::HashSet::new();
        for (node, checked) in c.graph.nodes.iter().zip(&c.nodes).skip(1) {
            if node.span.file != 0 || !seen.insert(node.span) {
                continue;
            }
            let end = call_end(&self.text, node.span.end);
            hints.push(hint(self.index.position(&self.text, end), format!(": {}", checked.shape)));
        }
        hints.retain(|h| h.position >= range.start && h.position <= range.end);
        hints
    }

    /// A layer's `check` row and its kind's documentation; a model parameter's value.
    pub fn hover(&self, position: Position, registry: &Registry) -> Option<Hover> {
        let offset = self.index.offset(&self.text, position);
        let (start, end, word) = word_at(&self.text, offset)?;
        let range = Some(self.index.range(&self.text, start, end));
        if let Some(c) = &self.checked {
            if let Some(p) = self.model_param_at(offset).and_then(|name| c.graph.params.iter().find(|p| p.name == name))
            {
                let source = if p.overridden { "set by an override" } else { "the file's default" };
                return Some(markdown(format!("`{} = {}` ({source})", p.name, p.value), range));
            }
            let plan = c.plan(self.objective);
            let node = c
                .graph
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.span.file == 0 && n.span.start <= offset && offset < n.span.end)
                .min_by_key(|(_, n)| n.span.end - n.span.start);
            if let Some((i, node)) = node {
                let checked = &c.nodes[i];
                let flops = plan.nodes[i].flops;
                let mut text = format!(
                    "**`{}`** `{}`\n\n| output shape | params | matmul FLOPs | other FLOPs | training FLOPs (exact) |\n|---|---:|---:|---:|---:|\n| `{}` | {} | {} | {} | {} |\n\nper sample, objective `{}`",
                    node.path,
                    node.op.kind_name(),
                    checked.shape,
                    thousands(checked.param_count()),
                    thousands(flops.matmul),
                    thousands(flops.other()),
                    thousands(flops.matmul.saturating_mul(3)),
                    self.objective,
                );
                if let Op::Layer { kind, .. } = &node.op {
                    text.push_str("\n\n");
                    text.push_str(&kind_doc(kind.as_ref()));
                }
                return Some(markdown(text, range));
            }
        }
        registry.get(word).map(|kind| markdown(kind_doc(kind.as_ref()), range))
    }

    /// The name of the model parameter whose name is at `offset`.
    fn model_param_at(&self, offset: usize) -> Option<&str> {
        let model = self.ast.as_ref()?.models.first()?;
        model
            .params
            .iter()
            .find(|p| p.name.span.start <= offset && offset <= p.name.span.end)
            .map(|p| p.name.name.as_str())
    }

    /// Argument names inside a call's parentheses; layer kinds and blocks elsewhere.
    pub fn completions(&self, position: Position, registry: &Registry) -> Vec<CompletionItem> {
        let offset = self.index.offset(&self.text, position);
        if let Some(callee) = open_call(&self.text[..offset]) {
            if let Some(kind) = registry.get(callee) {
                return kind
                    .args()
                    .iter()
                    .map(|a| CompletionItem {
                        label: a.name.into(),
                        kind: Some(CompletionItemKind::FIELD),
                        detail: Some(match a.default {
                            Some(d) => format!("{}, default {}", a.ty.describe(), d.value()),
                            None => format!("{}, required", a.ty.describe()),
                        }),
                        documentation: Some(Documentation::String(a.doc.into())),
                        insert_text: Some(format!("{} = ", a.name)),
                        ..CompletionItem::default()
                    })
                    .collect();
            }
            let block = self.blocks.iter().find(|b| b.0 == callee);
            return block.map_or_else(Vec::new, |(name, params)| {
                params
                    .iter()
                    .map(|p| CompletionItem {
                        label: p.clone(),
                        kind: Some(CompletionItemKind::FIELD),
                        detail: Some(format!("parameter of block `{name}`")),
                        insert_text: Some(format!("{p} = ")),
                        ..CompletionItem::default()
                    })
                    .collect()
            });
        }
        let kinds = registry.kinds().map(|k| CompletionItem {
            label: k.name().into(),
            kind: Some(CompletionItemKind::FUNCTION),
            detail: Some(k.doc().into()),
            documentation: Some(Documentation::MarkupContent(MarkupContent {
                kind: MarkupKind::Markdown,
                value: kind_doc(k.as_ref()),
            })),
            ..CompletionItem::default()
        });
        let blocks = self.blocks.iter().map(|(name, _)| CompletionItem {
            label: name.clone(),
            kind: Some(CompletionItemKind::MODULE),
            detail: Some("block".into()),
            ..CompletionItem::default()
        });
        kinds.chain(blocks).collect()
    }

    /// Where a called block is defined (here or in an included file); the file a `use` names.
    pub fn definition(&self, position: Position) -> Option<GotoDefinitionResponse> {
        let offset = self.index.offset(&self.text, position);
        let ast = self.ast.as_ref()?;
        if let Some(u) = ast.uses.iter().find(|u| u.span.start <= offset && offset <= u.span.end) {
            let path = self.dir.as_ref()?.join(&u.path);
            return Some(GotoDefinitionResponse::Scalar(Location::new(file_uri(&path)?, Range::default())));
        }
        let (_, _, word) = word_at(&self.text, offset)?;
        if let Some(b) = ast.blocks.iter().find(|b| b.name.name == word) {
            let range = self.index.range(&self.text, b.name.span.start, b.name.span.end);
            return Some(GotoDefinitionResponse::Scalar(Location::new(self.uri.clone(), range)));
        }
        // Blocks of included files, breadth first, each file once.
        let mut pending: Vec<PathBuf> =
            ast.uses.iter().filter_map(|u| Some(self.dir.as_ref()?.join(&u.path))).collect();
        let mut seen = std::collections::HashSet::new();
        while let Some(path) = pending.pop() {
            if !seen.insert(path.clone()) || seen.len() > tinyarch_lang::limits::MAX_INCLUDE_DEPTH * 4 {
                continue;
            }
            // The checker's reader: a pipe or device named by `use` is refused, not waited on.
            let mut sources = tinyarch_lang::diag::SourceMap::new();
            let Ok(id) = tinyarch_lang::read_model(&path, &path.display().to_string(), &mut sources) else { continue };
            let text = sources.text(id);
            let Ok(file) = parse_file(0, text) else { continue };
            if let Some(b) = file.blocks.iter().find(|b| b.name.name == word) {
                let range = LineIndex::new(text).range(text, b.name.span.start, b.name.span.end);
                return Some(GotoDefinitionResponse::Scalar(Location::new(file_uri(&path)?, range)));
            }
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            pending.extend(file.uses.iter().map(|u| dir.join(&u.path)));
        }
        None
    }

    /// The whole document in `tinyarch fmt`'s layout; nothing when it does not parse.
    pub fn formatting(&self) -> Option<Vec<TextEdit>> {
        let formatted = format::format_source(0, &self.text).ok()?;
        if formatted == self.text {
            return Some(Vec::new());
        }
        let whole = self.index.range(&self.text, 0, self.text.len());
        Some(vec![TextEdit::new(whole, formatted)])
    }
}

/// `block name(a, b = 1)` headers found line by line, for a text that does not parse.
fn lexical_blocks(text: &str) -> Vec<(String, Vec<String>)> {
    let ident =
        |s: &str| s.trim().split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or("").to_string();
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("block "))
        .map(|rest| {
            let name = ident(rest);
            let params = rest
                .split_once('(')
                .and_then(|(_, p)| p.split_once(')'))
                .map(|(p, _)| p.split(',').map(ident).filter(|n| !n.is_empty()).collect())
                .unwrap_or_default();
            (name, params)
        })
        .filter(|(name, _)| !name.is_empty())
        .collect()
}

/// Where a call whose name ends at `name_end` ends: after its `)`, or `name_end` for no call.
fn call_end(text: &str, name_end: usize) -> usize {
    let rest = &text[name_end..];
    if !rest.trim_start().starts_with('(') {
        return name_end;
    }
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return name_end + i + 1;
                }
            }
            _ => {}
        }
    }
    name_end
}

/// The callee whose `(` is still open at the end of `before`, if any.
fn open_call(before: &str) -> Option<&str> {
    let mut depth = 0i32;
    for (i, c) in before.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' if depth > 0 => depth -= 1,
            '(' => return word_at(before, i).map(|(_, _, w)| w).or_else(|| word_before(&before[..i])),
            '{' | '}' | '\n' if depth == 0 && c != '\n' => return None,
            _ => {}
        }
    }
    None
}

fn word_before(text: &str) -> Option<&str> {
    let trimmed = text.trim_end();
    word_at(trimmed, trimmed.len()).map(|(_, _, w)| w)
}

/// A kind's documentation: its line, then its arguments.
fn kind_doc(kind: &dyn LayerKind) -> String {
    let mut text = format!("`{}`: {}", kind.name(), kind.doc());
    for a in kind.args() {
        let default = a.default.map_or("required".to_string(), |d| format!("default `{}`", d.value()));
        text.push_str(&format!("\n- `{}` ({}, {default}): {}", a.name, a.ty.describe(), a.doc));
    }
    text
}

fn markdown(value: String, range: Option<Range>) -> Hover {
    Hover { contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }), range }
}

fn hint(position: Position, label: String) -> InlayHint {
    InlayHint {
        position,
        label: InlayHintLabel::String(label),
        kind: Some(InlayHintKind::TYPE),
        text_edits: None,
        tooltip: None,
        padding_left: Some(true),
        padding_right: None,
        data: None,
    }
}

fn warning(range: Range, message: String) -> Diagnostic {
    Diagnostic {
        range,
        severity: Some(DiagnosticSeverity::WARNING),
        source: Some("tinyarch".into()),
        message,
        ..Diagnostic::default()
    }
}

/// The local path of a `file:` URI.
pub fn file_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    let mut bytes = Vec::new();
    let mut iter = rest.bytes();
    while let Some(b) = iter.next() {
        if b == b'%' {
            let hex: Vec<u8> = iter.by_ref().take(2).collect();
            let decoded = std::str::from_utf8(&hex).ok().and_then(|h| u8::from_str_radix(h, 16).ok())?;
            bytes.push(decoded);
        } else {
            bytes.push(b);
        }
    }
    Some(PathBuf::from(String::from_utf8(bytes).ok()?))
}

/// The `file:` URI of a path.
pub fn file_uri(path: &Path) -> Option<Uri> {
    let absolute = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().ok()?.join(path) };
    let mut encoded = String::from("file://");
    for b in absolute.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => encoded.push(b as char),
            _ => encoded.push_str(&format!("%{b:02X}")),
        }
    }
    Uri::from_str(&encoded).ok()
}
