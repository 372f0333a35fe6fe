//! Check the model with tinyarch's checker and expand to an `Embedded<VOCAB, CONTEXT>`.
//!
//! ```text
//! tokens -> settings + model text (or a file) -> resolve + check -> errors: compile_error!s
//!                                                                -> ok: one self-contained text
//! ```
//!
//! The embedded text is self-contained: the files a model includes are appended to it with
//! their `use` lines blanked, so the program needs no `.model` file at run time.

use std::path::{Path, PathBuf};

use proc_macro::{Literal, Span, TokenStream};
use tinyarch_lang::diag::{Diagnostics, SourceMap};
use tinyarch_lang::ir::{self, Limits};
use tinyarch_lang::{self as lang, Options};
use tinyarch_lang::{Checked, Registry};

use crate::args::{self, Settings};
use crate::report::{self, Error, Origin, Root};
use crate::text::Spanned;

/// `model! { vocab = 65; model m(...) { ... } }`
pub fn inline(input: TokenStream) -> TokenStream {
    let (header, body) = args::split_header(input.into_iter().collect());
    let model = Spanned::new(body);
    let request = args::settings(header, Span::call_site()).map(|settings| Request {
        origin: inline_origin(&model),
        root: Source::Inline(model),
        settings,
    });
    finish(request.map_err(Vec::from).and_then(Request::expand))
}

/// `include_model!("path.model", vocab = 65, name = value)`
pub fn file(input: TokenStream) -> TokenStream {
    let request = args::split_path(input.into_iter().collect()).and_then(|(path, span, rest)| {
        let settings = args::settings(rest, span)?;
        let absolute = manifest_dir()?.join(&path);
        Ok(Request { origin: path, root: Source::File { absolute, span }, settings })
    });
    finish(request.map_err(Vec::from).and_then(Request::expand))
}

fn finish(result: Result<TokenStream, Vec<Error>>) -> TokenStream {
    match result {
        Ok(tokens) => tokens,
        // A failed check always has a diagnostic; an empty list must still not compile.
        Err(errors) if errors.is_empty() => {
            report::expression(&[Error::at(Span::call_site(), "the model does not check")])
        }
        Err(errors) => report::expression(&errors),
    }
}

impl From<Error> for Vec<Error> {
    fn from(e: Error) -> Vec<Error> {
        vec![e]
    }
}

struct Request {
    settings: Settings,
    root: Source,
    /// Names the model in diagnostics at run time: the path as written, or the Rust file and line.
    origin: String,
}

enum Source {
    Inline(Spanned),
    File { absolute: PathBuf, span: Span },
}

impl Request {
    fn expand(self) -> Result<TokenStream, Vec<Error>> {
        let manifest_dir = manifest_dir()?;
        let manifest = manifest_dir.display().to_string();
        let options = Options {
            vocab: Some(self.settings.vocab),
            overrides: self.settings.overrides.iter().map(|o| o.text.clone()).collect(),
        };
        let (root, dir) = match &self.root {
            Source::Inline(tokens) => (Root::Inline(tokens), manifest_dir.clone()),
            Source::File { absolute, span } => {
                (Root::File(*span), absolute.parent().map_or_else(|| manifest_dir.clone(), Path::to_path_buf))
            }
        };
        let origin = Origin { root, overrides: &self.settings.overrides, manifest_dir: &manifest };
        let checked = self.check(&manifest_dir, &options).map_err(|d| origin.errors(&d))?;

        let sources = &checked.graph.sources;
        let files = model_files(sources);
        let text = merge(sources, &files, &dir).map_err(|d| origin.errors(&d))?;
        if files.len() > 1 {
            // What the program embeds must check on its own, as the files did.
            check_text(&self.origin, &text, &options).map_err(|d| {
                Error::at(
                    origin_span(&origin),
                    format!("the model checks, but not once its includes are merged into one text:\n{d}"),
                )
            })?;
        }
        // Files read at compile time: the crate is rebuilt when one changes.
        let tracked = files.iter().filter(|&&id| id > 0 || matches!(self.root, Source::File { .. }));
        let tracked: Vec<PathBuf> = tracked.map(|&id| dir.join(sources.name(id))).collect();
        generate(&checked, &self, &text, &tracked)
    }

    fn check(&self, manifest_dir: &Path, options: &Options) -> Result<Checked, Diagnostics> {
        let registry = Registry::default();
        let graph = match &self.root {
            Source::Inline(tokens) => {
                lang::resolve_source(&self.origin, &tokens.text, Some(manifest_dir), &registry, options)?
            }
            Source::File { absolute, .. } => lang::resolve_file(absolute, &registry, options)?,
        };
        ir::check(graph, &Limits::default())
    }
}

fn check_text(name: &str, text: &str, options: &Options) -> Result<Checked, Diagnostics> {
    let graph = lang::resolve_source(name, text, None, &Registry::default(), options)?;
    ir::check(graph, &Limits::default())
}

fn origin_span(origin: &Origin) -> Span {
    match origin.root {
        Root::Inline(tokens) => tokens.first_span().unwrap_or_else(Span::call_site),
        Root::File(span) => span,
    }
}

/// The model file and its includes: every source but the overrides.
fn model_files(sources: &SourceMap) -> Vec<usize> {
    (0..sources.len()).filter(|&id| sources.name(id) != "--set").collect()
}

/// The model's text, then each include's, with `use` declarations blanked (same length, so
/// the model's own lines and columns stay where they were).
fn merge(sources: &SourceMap, files: &[usize], dir: &Path) -> Result<String, Diagnostics> {
    let mut out = String::new();
    for &id in files {
        let text = sources.text(id);
        let ast = lang::parse_file(id, text).map_err(|d| Diagnostics { sources: sources.clone(), errors: vec![d] })?;
        let mut blanked = text.to_string();
        for u in &ast.uses {
            let spaces: String = text[u.span.range()].chars().map(|c| if c == '\n' { '\n' } else { ' ' }).collect();
            blanked.replace_range(u.span.range(), &spaces);
        }
        if id > 0 {
            let name = Path::new(sources.name(id));
            let relative = name.strip_prefix(dir).unwrap_or(name);
            out.push_str(&format!("\n// included from `{}`\n", relative.display()));
        }
        out.push_str(&blanked);
    }
    Ok(out)
}

/// `{ const _: &str = include_str!(..); ...; Embedded::<V, C>::__checked(..) }`
fn generate(checked: &Checked, request: &Request, text: &str, tracked: &[PathBuf]) -> Result<TokenStream, Vec<Error>> {
    let string = |s: &str| Literal::string(s).to_string();
    let mut code = String::from("{");
    for path in tracked {
        code.push_str(&format!("const _: &str = ::core::include_str!({});", string(&path.display().to_string())));
    }
    let overrides: Vec<String> = request.settings.overrides.iter().map(|o| string(&o.text)).collect();
    code.push_str(&format!(
        "::tinyarch::embed::Embedded::<{}, {}>::__checked({}, {}, {}, &[{}])}}",
        request.settings.vocab,
        checked.graph.context.size,
        string(&checked.graph.name),
        string(&request.origin),
        string(text),
        overrides.join(", "),
    ));
    code.parse().map_err(|e| vec![Error::at(Span::call_site(), format!("tinyarch-macros generated invalid code: {e}"))])
}

fn manifest_dir() -> Result<PathBuf, Error> {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .ok_or_else(|| Error::at(Span::call_site(), "`CARGO_MANIFEST_DIR` is not set: build with cargo"))
}

/// `model! at src/main.rs:12`: where an inline model was written.
fn inline_origin(model: &Spanned) -> String {
    let span = model.first_span().unwrap_or_else(Span::call_site);
    format!("model! at {}:{}", span.file(), span.line())
}
