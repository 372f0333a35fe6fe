//! No panic on any input: random strings and random mutations of the zoo files go through
//! parse, resolve and check. 10,000 cases by default; `TINYARCH_FUZZ_CASES=1000000` for more.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use tinyarch::Registry;
use tinyarch::ir::{Limits, check};
use tinyarch::lang::{Options, resolve_source};

/// SplitMix64: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "model",
    "block",
    "use",
    "repeat",
    "residual",
    "if",
    "else",
    "true",
    "false",
    "(",
    ")",
    "{",
    "}",
    ",",
    "=",
    ":",
    "+",
    "-",
    "*",
    "/",
    "\"",
    "//",
    "\n",
    " ",
    "0",
    "1",
    "7",
    "128",
    "99999999999999999999",
    "0.5",
    "1e9",
    "d",
    "context",
    "vocab",
    "heads",
    "x",
    "embedding",
    "linear",
    "attention",
    "head",
    "flatten",
    "last",
    "layer_norm",
    "dropout",
    "p",
    "out",
    "dim",
    "tied",
    "rope",
    "é",
    "\u{0}",
];

/// Splits source into tokens: runs of word characters, or single other characters.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' || c == '.' {
            word.push(c);
        } else {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn mutate(rng: &mut Rng, source: &str) -> String {
    let mut toks = tokens(source);
    for _ in 0..1 + rng.below(4) {
        if toks.is_empty() {
            break;
        }
        let i = rng.below(toks.len());
        match rng.below(5) {
            0 => {
                toks.remove(i);
            }
            1 => {
                let t = toks[i].clone();
                toks.insert(i, t);
            }
            2 => {
                let j = rng.below(toks.len());
                toks.swap(i, j);
            }
            3 => toks[i] = PIECES[rng.below(PIECES.len())].to_string(),
            _ => toks.insert(i, PIECES[rng.below(PIECES.len())].to_string()),
        }
    }
    toks.concat()
}

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
