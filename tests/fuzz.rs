//! No panic on any input: random strings and random mutations of the zoo files go through
//! parse, resolve and check. 10,000 cases by default; `TINYARCH_FUZZ_CASES=1000000` for more.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use tinyarch::Registry;
use tinyarch::ir::{Limits, check};
use tinyarch::lang::{Options, resolve_source};

mod mutation;
use mutation::{PIECES, Rng, mutate};

fn random_text(rng: &mut Rng) -> String {
    (0..rng.below(40)).map(|_| PIECES[rng.below(PIECES.len())]).collect::<Vec<_>>().join(if rng.below(2) == 0 {
        " "
    } else {
        ""
    })
}

fn zoo() -> Vec<(PathBuf, String)> {
    let files = tinyarch::lang::model_files(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("models")]).unwrap();
    files
        .into_iter()
        .map(|f| (f.path.parent().unwrap().to_path_buf(), std::fs::read_to_string(&f.path).unwrap()))
        .collect()
}

#[test]
fn no_input_makes_the_compiler_panic() {
    let cases: usize = std::env::var("TINYARCH_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let registry = Registry::default();
    let zoo = zoo();
    let limits = Limits::default();
    let mut rng = Rng(0x07a1_1ac4);
    let mut accepted = 0;
    for case in 0..cases {
        let (dir, text) = if case % 4 == 0 {
            (zoo[0].0.clone(), random_text(&mut rng))
        } else {
            let (dir, source) = &zoo[rng.below(zoo.len())];
            (dir.clone(), mutate(&mut rng, source))
        };
        let options = Options { vocab: Some(1 + rng.below(70_000) as u64), overrides: Vec::new() };
        let result = catch_unwind(AssertUnwindSafe(|| {
            resolve_source("fuzz.model", &text, Some(&dir), &registry, &options).and_then(|g| check(g, &limits))
        }));
        match result {
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(d)) => assert!(!d.errors.is_empty() && !d.render().is_empty()),
            Err(_) => panic!("case {case} panicked on this input:\n{text}"),
        }
    }
    // Mutations that leave a model valid must exist, or the test exercises only the parser.
    assert!(cases < 100 || accepted > 0, "no mutated model passed the check");
}
