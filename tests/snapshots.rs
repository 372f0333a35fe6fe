//! Snapshots: the compiled graph of every model in `models/` (default parameters, vocab 65),
//! and the rendered diagnostic of every file in `tests/inputs/errors/`.

use std::path::PathBuf;
use tinyarch::ir::{Format, render_graph};
use tinyarch::{Options, check_file};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_zoo_model_compiles_to_its_snapshot() {
    let files = tinyarch::lang::model_files(&[root().join("models")]).unwrap();
    assert!(files.len() >= 6, "the zoo has the study's ladder and the GPT");
    for file in files {
        let relative = file.path.strip_prefix(root()).unwrap();
        let checked = check_file(relative, &Options::vocab(65)).unwrap_or_else(|d| panic!("{}", d.render()));
        let name = relative.with_extension("").to_string_lossy().replace(['/', '\\'], "__");
        insta::assert_snapshot!(format!("graph__{name}"), render_graph(&checked, Format::Text));
    }
}

/// Options from a first line such as `// check: --set layers=4` or `// check: --no-vocab`.
fn options_for(text: &str) -> Options {
    let mut options = Options::vocab(65);
    if let Some(flags) = text.lines().next().and_then(|l| l.strip_prefix("// check:")) {
        let mut words = flags.split_whitespace();
        while let Some(flag) = words.next() {
            match flag {
                "--no-vocab" => options.vocab = None,
                "--set" => options.overrides.push(words.next().expect("--set takes a value").to_string()),
                other => panic!("unknown test flag {other}"),
            }
        }
    }
    options
}

#[test]
fn every_error_case_renders_its_diagnostic() {
    insta::glob!("inputs/errors/*.model", |path| {
        let relative = path.strip_prefix(root()).unwrap();
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        let err = match check_file(relative, &options_for(&text)) {
            Ok(_) => panic!("{} should fail the check", relative.display()),
            Err(e) => e,
        };
        insta::assert_snapshot!(err.render());
    });
}

#[test]
fn error_cases_cover_every_code() {
    let dir = root().join("tests/inputs/errors");
    let mut seen = std::collections::BTreeSet::new();
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "model") {
            continue;
        }
        cases += 1;
        let relative = path.strip_prefix(root()).unwrap();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        if let Err(e) = check_file(relative, &options_for(&text)) {
            seen.extend(e.codes());
        }
    }
    assert!(cases >= 20, "at least 20 error cases, found {cases}");
    let missing: Vec<String> = tinyarch::diag::Code::ALL.iter().filter(|c| !seen.contains(c)).map(|c| c.id()).collect();
    assert!(missing.is_empty(), "no error case produces {missing:?}");
}
