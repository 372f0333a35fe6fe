//! `tinyarch fmt` over every model text we have (the zoo, the book's examples, the test inputs
//! that parse, and mutations of them that still parse): formatting is idempotent, keeps every
//! comment, and leaves the checked graph unchanged.

mod common;

use std::path::{Path, PathBuf};

use tinyarch::Registry;

mod mutation;
use mutation::{Rng, mutate};
use tinyarch::diag::SourceMap;
use tinyarch::ir::{Format, Limits, check, render_graph};
use tinyarch::lang::format::format_source;
use tinyarch::lang::{Options, resolve_source};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every readable `.model` file below `dir`, with its text.
fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    common::model_files(dir).into_iter().filter_map(|p| Some((p.clone(), std::fs::read_to_string(&p).ok()?))).collect()
}

/// The ```model blocks of the book, without includes.
fn book_blocks() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, text) in std::fs::read_dir(root().join("book/src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
    {
        let mut block: Option<(usize, String)> = None;
        for (n, line) in text.lines().enumerate() {
            match &mut block {
                None if line.starts_with("```model") => block = Some((n + 1, String::new())),
                Some((start, body)) if line.starts_with("```") => {
                    if !body.contains("{{#include") {
                        out.push((format!("{}:{start}", path.display()), std::mem::take(body)));
                    }
                    block = None;
                }
                Some((_, body)) => {
                    body.push_str(line);
                    body.push('\n');
                }
                None => {}
            }
        }
    }
    out
}

fn format(text: &str) -> Option<String> {
    format_source(0, text).ok()
}

fn comments(text: &str) -> Vec<String> {
    let mut out: Vec<String> =
        text.lines().filter_map(|l| l.find("//").map(|i| l[i..].trim_end().to_string())).collect();
    out.sort();
    out
}

/// The graph text of `text` checked with includes from `dir`, or the diagnostic codes.
fn graph(text: &str, dir: &Path) -> String {
    let options = Options::vocab(65);
    match resolve_source("m.model", text, Some(dir), &Registry::default(), &options)
        .and_then(|g| check(g, &Limits::default()))
    {
        Ok(c) => render_graph(&c, Format::Text),
        Err(d) => format!("{:?}", d.codes()),
    }
}

fn holds(name: &str, text: &str, dir: &Path) -> Result<bool, String> {
    let Some(once) = format(text) else {
        return Ok(false);
    };
    let twice = format(&once).ok_or_else(|| format!("{name}: the formatted text does not parse:\n{once}"))?;
    if twice != once {
        return Err(format!("{name}: not idempotent:\n--- once\n{once}\n--- twice\n{twice}"));
    }
    if comments(&once) != comments(text) {
        return Err(format!("{name}: comments changed:\n{:?}\n{:?}\n{once}", comments(text), comments(&once)));
    }
    if graph(&once, dir) != graph(text, dir) {
        return Err(format!("{name}: the graph changed:\n--- before\n{text}\n--- after\n{once}"));
    }
    Ok(true)
}

#[test]
fn the_zoo_and_the_book_are_formatted() {
    let mut unformatted = Vec::new();
    for (path, text) in files(&root().join("models")).into_iter().chain(files(&root().join("book/src/examples"))) {
        if format(&text).is_some_and(|f| f != text) {
            unformatted.push(path.display().to_string());
        }
    }
    for (at, text) in book_blocks() {
        if format(&text).is_some_and(|f| f != text) {
            unformatted.push(at);
        }
    }
    assert!(unformatted.is_empty(), "run `tinyarch fmt` on these: {unformatted:#?}");
}

#[test]
fn formatting_is_idempotent_keeps_comments_and_the_graph() {
    let mut cases: Vec<(String, String, PathBuf)> = Vec::new();
    for dir in ["models", "book/src/examples", "tests/inputs"] {
        for (path, text) in files(&root().join(dir)) {
            let parent = path.parent().unwrap().to_path_buf();
            cases.push((path.display().to_string(), text, parent));
        }
    }
    for (at, text) in book_blocks() {
        cases.push((at, text, root().join("book/src")));
    }
    let mut formatted = 0;
    for (name, text, dir) in &cases {
        if holds(name, text, dir).unwrap_or_else(|e| panic!("{e}")) {
            formatted += 1;
        }
    }
    assert!(formatted >= 60, "only {formatted} texts parse");
}

/// The token fuzzer's mutations of the zoo that still parse.
#[test]
fn mutations_that_still_parse_format_the_same_way() {
    let zoo = files(&root().join("models"));
    let mut rng = Rng(7);
    let mut parsed = 0;
    for case in 0..3_000 {
        let (path, text) = &zoo[rng.below(zoo.len())];
        let text = mutate(&mut rng, text);
        let dir = path.parent().unwrap();
        if holds(&format!("mutation {case} of {}", path.display()), &text, dir).unwrap_or_else(|e| panic!("{e}")) {
            parsed += 1;
        }
    }
    assert!(parsed > 300, "only {parsed} mutations parse");
}

#[test]
fn a_file_that_does_not_parse_is_refused_with_its_diagnostic() {
    let mut sources = SourceMap::new();
    let id = sources.add("bad.model", "model m(context = 4 { }");
    let err = format_source(id, sources.text(id)).unwrap_err();
    assert_eq!(err.code, tinyarch::diag::Code::Syntax);
}

#[test]
fn a_comment_before_an_expression_with_comments_inside_is_kept() {
    let text = "model m(context = 4, d = 8) {\n    embedding(dim = d)\n    repeat // how often\n    (2 // twice\n    + 1) {\n        relu()\n    }\n    head()\n}\n";
    holds("comment before a commented count", text, &root()).unwrap();
    assert_eq!(comments(&format(text).unwrap()), comments(text));
}

#[test]
fn the_layout_follows_the_rules() {
    let text = "// header\n\n\n\nmodel m(context=4,d=8){\nembedding(dim=d) // in\n\n\nx:linear(out=(d+1)*2)\nhead(  )// out\n}";
    let expected = "// header\n\nmodel m(context = 4, d = 8) {\n    embedding(dim = d) // in\n\n    x: linear(out = (d + 1) * 2)\n    head()             // out\n}\n";
    assert_eq!(format(text).unwrap(), expected);
}
