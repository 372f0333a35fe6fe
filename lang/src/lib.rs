//! tinyarch's model language and static checker, with no tensor library in it.
//!
//! The pipeline's first half, one module per step: parse (pest) to a typed AST with spans
//! ([`ast`]), load `use` includes, resolve parameters, expressions, blocks and repeats into the
//! graph IR ([`ir`]), then check shapes, parameters, FLOPs and memory ([`ir::check`]) and plan
//! the computation for an objective ([`ir::FlopPlan`]). Layer kinds are plugins ([`layers`]);
//! the parser knows no layer names. `tinyarch-core` runs what this crate checks.
//!
//! ```
//! let source = "model tiny(context = 8, d = 16) { embedding(dim = d) head() }";
//! let model = tinyarch_lang::check_source("tiny.model", source, &tinyarch_lang::Options::vocab(65)).unwrap();
//! assert_eq!(model.summary.params, 65 * 16 + 16 * 65 + 65);
//! ```

// Diagnostics are large but only built on the error path, never in a hot loop.
#![allow(clippy::result_large_err)]

pub mod diag;
pub mod ir;
pub mod layers;
pub mod lexical;
pub mod limits;
pub mod units;

pub mod ast;
mod eval;
pub mod format;
mod parser;
mod resolve;

pub use diag::Diagnostics;
pub use ir::{Checked, Convention, Limits, Objective};
pub use layers::Registry;
pub use limits::MAX_NODES;
pub use parser::parse_file;

use crate::diag::{Code, Diagnostic, FileId, SourceMap, Span};
use crate::ir::Graph;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// What the command line adds to a model file.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The vocabulary size (from `--vocab` or a corpus).
    pub vocab: Option<u64>,
    /// `--set name=value` overrides, as written.
    pub overrides: Vec<String>,
}

impl Options {
    pub fn vocab(vocab: u64) -> Options {
        Options { vocab: Some(vocab), overrides: Vec::new() }
    }

    /// Adds an override `name=value`.
    pub fn set(mut self, assignment: impl Into<String>) -> Options {
        self.overrides.push(assignment.into());
        self
    }
}

/// A model file to check or train, and whether it was found by searching a directory (where
/// block-only files are libraries, not errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelFile {
    pub path: PathBuf,
    pub found_in_directory: bool,
}

/// Expands directories into the `.model` files below them, sorted; files are kept as given.
/// A directory with no `.model` file below it is an error. Symbolic links to directories are
/// not followed, so a link cycle cannot loop.
pub fn model_files(paths: &[PathBuf]) -> std::io::Result<Vec<ModelFile>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            let mut pending = vec![path.clone()];
            while let Some(dir) = pending.pop() {
                for entry in std::fs::read_dir(&dir)? {
                    let entry = entry?;
                    let file = entry.path();
                    if entry.file_type()?.is_dir() {
                        pending.push(file);
                    } else if file.extension().is_some_and(|e| e == "model") {
                        found.push(file);
                    }
                }
            }
            if found.is_empty() {
                let message = format!("no `.model` files in `{}`", path.display());
                return Err(std::io::Error::new(std::io::ErrorKind::NotFound, message));
            }
            found.sort();
            out.extend(found.into_iter().map(|path| ModelFile { path, found_in_directory: true }));
        } else {
            out.push(ModelFile { path: path.clone(), found_in_directory: false });
        }
    }
    Ok(out)
}

/// Reads, parses and resolves a model file and its includes.
pub fn resolve_file(path: &Path, registry: &Registry, options: &Options) -> Result<Graph, Diagnostics> {
    let mut sources = SourceMap::new();
    let root = match read_model(path, &path.display().to_string(), &mut sources) {
        Ok(id) => id,
        Err(d) => return Err(Diagnostics { sources, errors: vec![d] }),
    };
    let dir = path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p }).map(Path::to_path_buf);
    resolve(sources, root, dir, registry, options)
}

/// A file of blocks and no model, meant for `use`, checked on its own: parsed, its includes
/// loaded, its block names checked and every call in its blocks resolved to a layer kind or
/// a block. Returns the names of the blocks it defines, or `None` when it defines a model
/// (check it with [`resolve_file`]).
pub fn check_library(path: &Path, registry: &Registry) -> Result<Option<Vec<String>>, Diagnostics> {
    let mut sources = SourceMap::new();
    let root = match read_model(path, &path.display().to_string(), &mut sources) {
        Ok(id) => id,
        Err(d) => return Err(Diagnostics { sources, errors: vec![d] }),
    };
    let root_ast = match parse_file(root, sources.text(root)) {
        Ok(file) => file,
        Err(d) => return Err(Diagnostics { sources, errors: vec![d] }),
    };
    if !root_ast.models.is_empty() || root_ast.blocks.is_empty() {
        return Ok(None);
    }
    let dir = path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p }).map(Path::to_path_buf);
    let canonical = dir.as_ref().and_then(|d| d.canonicalize().ok());
    let mut errors = Vec::new();
    let mut loader = Loader { blocks: Vec::new(), loaded: Vec::new(), errors: &mut errors };
    loader.includes(&mut sources, &root_ast, dir.as_deref(), canonical.as_deref(), &mut Vec::new());
    let mut blocks = std::mem::take(&mut loader.blocks);
    blocks.extend(root_ast.blocks.iter().cloned());
    errors.extend(resolve::Resolver::new(registry, &blocks).library(&root_ast.blocks));
    if errors.is_empty() {
        Ok(Some(root_ast.blocks.iter().map(|b| b.name.name.clone()).collect()))
    } else {
        Err(Diagnostics { sources, errors })
    }
}

/// Resolves a model given as text. `dir` is where its `use` paths start; without one,
/// includes are an error.
pub fn resolve_source(
    name: &str,
    text: &str,
    dir: Option<&Path>,
    registry: &Registry,
    options: &Options,
) -> Result<Graph, Diagnostics> {
    let mut sources = SourceMap::new();
    let root = sources.add(name, text);
    resolve(sources, root, dir.map(Path::to_path_buf), registry, options)
}

fn resolve(
    mut sources: SourceMap,
    root: FileId,
    dir: Option<PathBuf>,
    registry: &Registry,
    options: &Options,
) -> Result<Graph, Diagnostics> {
    let mut errors = Vec::new();
    let mut loader = Loader { blocks: Vec::new(), loaded: Vec::new(), errors: &mut errors };
    let root_ast = match parse_file(root, sources.text(root)) {
        Ok(file) => file,
        Err(d) => return Err(Diagnostics { sources, errors: vec![d] }),
    };
    let canonical = dir.as_ref().and_then(|d| d.canonicalize().ok());
    let mut stack = Vec::new();
    loader.includes(&mut sources, &root_ast, dir.as_deref(), canonical.as_deref(), &mut stack);
    let mut blocks = std::mem::take(&mut loader.blocks);
    blocks.extend(root_ast.blocks.iter().cloned());

    let overrides = parse_overrides(&mut sources, &options.overrides, &mut errors);
    let model = match root_ast.models.as_slice() {
        [model] => Some(model),
        [] => {
            errors.push(
                Diagnostic::new(Code::ModelCount, format!("`{}` defines no model", sources.name(root)))
                    .at(Span::new(root, 0..0), "expected `model name(...) { ... }`")
                    .help("a file that only defines blocks is meant to be included with `use`"),
            );
            None
        }
        [first, second, ..] => {
            errors.push(
                Diagnostic::new(Code::ModelCount, "a file may define only one model")
                    .at(second.name.span, "a second model")
                    .also(first.name.span, "the first model")
                    .help("move each model to its own file; blocks can be shared with `use`"),
            );
            None
        }
    };
    let resolved = model.map(|m| (m, resolve::Resolver::new(registry, &blocks).model(m, options.vocab, &overrides)));
    match resolved {
        Some((model, Ok(r))) if errors.is_empty() => Ok(Graph {
            name: model.name.name.clone(),
            name_span: model.name.span,
            params: r.params,
            vocab: r.vocab,
            context: r.context,
            nodes: r.nodes,
            sources: Arc::new(sources),
        }),
        Some((_, result)) => {
            errors.extend(result.err().unwrap_or_default());
            Err(Diagnostics { sources, errors })
        }
        None => Err(Diagnostics { sources, errors }),
    }
}

fn parse_overrides(
    sources: &mut SourceMap,
    overrides: &[String],
    errors: &mut Vec<Diagnostic>,
) -> Vec<resolve::Override> {
    let mut out = Vec::new();
    for text in overrides {
        let file = sources.add("--set", text.clone());
        match parser::parse_override(file, text) {
            Ok((name, value)) => out.push(resolve::Override { name, value }),
            Err(d) => errors.push(d),
        }
    }
    out
}

/// Loads `use` includes depth-first, collecting their blocks.
struct Loader<'e> {
    blocks: Vec<ast::Definition>,
    /// Canonical paths already loaded (a file included twice is read once).
    loaded: Vec<PathBuf>,
    errors: &'e mut Vec<Diagnostic>,
}

impl Loader<'_> {
    fn includes(
        &mut self,
        sources: &mut SourceMap,
        file: &ast::File,
        dir: Option<&Path>,
        canonical_dir: Option<&Path>,
        stack: &mut Vec<PathBuf>,
    ) {
        for u in &file.uses {
            let Some((dir, canonical_dir)) = dir.zip(canonical_dir) else {
                self.errors.push(
                    Diagnostic::new(
                        Code::IncludeNotFound,
                        format!("cannot include `{}` from a model given as text", u.path),
                    )
                    .at(u.span, "no directory to look in"),
                );
                continue;
            };
            let (path, canonical) = match locate(u, dir, canonical_dir) {
                Ok(found) => found,
                Err(d) => {
                    self.errors.push(d);
                    continue;
                }
            };
            if stack.contains(&canonical) {
                self.errors.push(
                    Diagnostic::new(Code::IncludeCycle, format!("`{}` includes itself through a cycle", u.path))
                        .at(u.span, "this include closes the cycle"),
                );
                continue;
            }
            if self.loaded.contains(&canonical) {
                continue;
            }
            if stack.len() >= limits::MAX_INCLUDE_DEPTH {
                self.errors.push(
                    Diagnostic::new(
                        Code::TooDeep,
                        format!("includes nest more than {} files deep", limits::MAX_INCLUDE_DEPTH),
                    )
                    .at(u.span, "one include too many")
                    .help("include the shared files from the model's own file instead of from each other"),
                );
                continue;
            }
            self.loaded.push(canonical.clone());
            let id = match read_model(&canonical, &path.display().to_string(), sources) {
                Ok(id) => id,
                Err(d) if d.primary.is_some() => {
                    self.errors.push(d.also(u.span, "included here"));
                    continue;
                }
                Err(d) => {
                    self.errors.push(d.at(u.span, "included here"));
                    continue;
                }
            };
            let parsed = match parse_file(id, sources.text(id)) {
                Ok(f) => f,
                Err(d) => {
                    self.errors.push(d);
                    continue;
                }
            };
            let sub_dir = path.parent().unwrap_or(dir).to_path_buf();
            let sub_canonical = canonical.parent().unwrap_or(canonical_dir).to_path_buf();
            stack.push(canonical);
            self.includes(sources, &parsed, Some(&sub_dir), Some(&sub_canonical), stack);
            stack.pop();
            self.blocks.extend(parsed.blocks);
        }
    }
}

/// Reads a model file into `sources` under `name`: a regular file of at most
/// [`limits::MAX_FILE_BYTES`] bytes of UTF-8. A FIFO or a device is refused before it is
/// opened, so nothing blocks. Text that is not UTF-8 is added as far as it is valid, and the
/// error points at the first bad byte; other errors have no place in the file.
pub fn read_model(path: &Path, name: &str, sources: &mut SourceMap) -> Result<FileId, Diagnostic> {
    let cannot = |why: String| Diagnostic::new(Code::IncludeNotFound, format!("cannot read `{name}`: {why}"));
    let meta = std::fs::metadata(path).map_err(|e| cannot(e.to_string()))?;
    if !meta.is_file() {
        return Err(Diagnostic::new(Code::NotText, format!("`{name}` is not a regular file"))
            .help("a model is read from a file on disk, not a pipe, device or directory"));
    }
    if meta.len() > limits::MAX_FILE_BYTES {
        return Err(Diagnostic::new(
            Code::NotText,
            format!("`{name}` has {} bytes, more than a model file may ({})", meta.len(), limits::MAX_FILE_BYTES),
        ));
    }
    let mut bytes = Vec::new();
    std::io::Read::take(std::fs::File::open(path).map_err(|e| cannot(e.to_string()))?, limits::MAX_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot(e.to_string()))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(sources.add(name.to_string(), text)),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let byte = e.as_bytes()[offset];
            let id = sources.add(name.to_string(), String::from_utf8_lossy(e.as_bytes()).into_owned());
            let (line, column) = sources.line_col(Span::new(id, offset..offset));
            Err(Diagnostic::new(
                Code::NotText,
                format!("`{name}` is not UTF-8: byte 0x{byte:02X} at offset {offset} (line {line}, column {column})"),
            )
            .at(Span::new(id, offset..offset + char::REPLACEMENT_CHARACTER.len_utf8()), "not UTF-8")
            .help("save the file as UTF-8"))
        }
    }
}

/// The file a `use` names, as written (joined to `dir`) and as its real path, if it may be
/// included: relative, without `..`, and inside the including file's directory.
fn locate(u: &ast::Use, dir: &Path, canonical_dir: &Path) -> Result<(PathBuf, PathBuf), Diagnostic> {
    let relative = Path::new(&u.path);
    if relative.is_absolute() || relative.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(Diagnostic::new(
            Code::IncludeEscapes,
            format!("`use \"{}\"` leaves the directory of the including file", u.path),
        )
        .at(u.span, "absolute paths and `..` are not allowed")
        .help("keep shared blocks beside the model, or in a folder below it"));
    }
    let path = dir.join(relative);
    let canonical = path.canonicalize().map_err(|e| {
        Diagnostic::new(Code::IncludeNotFound, format!("cannot read `{}`: {e}", path.display()))
            .at(u.span, "included here")
    })?;
    // A symlink can still point outside: compare the real paths.
    if !canonical.starts_with(canonical_dir) {
        return Err(Diagnostic::new(
            Code::IncludeEscapes,
            format!("`use \"{}\"` leads outside the including file's directory", u.path),
        )
        .at(u.span, format!("resolves to `{}`", canonical.display())));
    }
    Ok((path, canonical))
}

/// Parses, resolves and checks a model file with the built-in layers and default limits.
pub fn check_file(path: &Path, options: &Options) -> Result<Checked, Diagnostics> {
    let graph = resolve_file(path, &Registry::default(), options)?;
    ir::check(graph, &Limits::default())
}

/// Like [`check_file`] for a model given as text (includes are not allowed).
pub fn check_source(name: &str, text: &str, options: &Options) -> Result<Checked, Diagnostics> {
    let graph = resolve_source(name, text, None, &Registry::default(), options)?;
    ir::check(graph, &Limits::default())
}
