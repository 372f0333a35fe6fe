//! Random inputs shared by the fuzzers and the formatter's tests: a seedable generator, and
//! token-level mutations of model text.
#![allow(dead_code)] // each test crate uses a different part

/// SplitMix64: small, seedable, good enough to pick mutations.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True once in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

pub const PIECES: &[&str] = &[
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
pub fn tokens(text: &str) -> Vec<String> {
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

pub fn mutate(rng: &mut Rng, source: &str) -> String {
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
