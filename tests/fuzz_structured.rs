//! A structure-aware fuzzer: models generated from the grammar, well-formed or nearly so, with
//! deep nesting, long expressions, wide and deep block fan-out, extreme literals, overrides and
//! includes (good, missing, escaping, cyclic, too deep, not UTF-8, a FIFO). Every case must
//! end in a result or diagnostics, without a panic, within 1 s and 256 MiB.
//!
//! 10,000 cases by default; `TINYARCH_FUZZ_CASES=1000000` for more. `TINYARCH_FUZZ_SEED` picks
//! another sequence.

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tinyarch::ir::{Limits, check};
use tinyarch::lang::{Options, resolve_source};
use tinyarch::{Diagnostics, Registry};

mod mutation;
use mutation::Rng;

const MAX_CASE_TIME: Duration = Duration::from_secs(1);
const MAX_RSS_MIB: u64 = 256;

const LITERALS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "4",
    "8",
    "16",
    "-1",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999",
    "1_000_000",
    "0.5",
    "0.0",
    "1e308",
    "1e309",
    "1e-320",
    "true",
    "false",
];
const NAMES: &[&str] = &["d", "context", "w", "n", "heads", "vocab", "zz", "relu", "gelu"];
const OPERATORS: &[&str] = &[" + ", " - ", " * ", " / "];

/// Generates one model's text, with the blocks and includes it uses.
struct Generator<'r> {
    rng: &'r mut Rng,
    blocks: usize,
    /// Brackets open so far: the generator goes past the language's limit now and then.
    depth: usize,
    max_depth: usize,
}

impl Generator<'_> {
    fn expr(&mut self, out: &mut String) {
        if self.rng.one_in(200) {
            // Far past the operator limit, or right at it.
            let n = if self.rng.one_in(2) { 129 + self.rng.below(2_000) } else { 128 };
            out.push_str(&vec!["1"; n + 1].join(self.rng.pick(OPERATORS)));
            return;
        }
        if self.rng.one_in(100) {
            out.push_str(&"-".repeat(1 + self.rng.below(300)));
        }
        let most = if self.rng.one_in(10) { 12 } else { 3 };
        let terms = 1 + self.rng.below(most);
        for i in 0..terms {
            if i > 0 {
                out.push_str(self.rng.pick(OPERATORS));
            }
            if self.rng.one_in(8) && self.depth < self.max_depth {
                self.depth += 1;
                out.push('(');
                self.expr(out);
                out.push(')');
                self.depth -= 1;
            } else if self.rng.one_in(2) {
                out.push_str(self.rng.pick(LITERALS));
            } else {
                out.push_str(self.rng.pick(NAMES));
            }
        }
    }

    fn call(&mut self, out: &mut String) {
        let (name, args): (&str, &[&str]) = match self.rng.below(16) {
            0 => ("embedding", &["dim"]),
            1 | 2 => ("linear", &["out", "bias"]),
            3 => ("relu", &[]),
            4 => ("gelu", &[]),
            5 => ("layer_norm", &["eps"]),
            6 => ("rms_norm", &[]),
            7 => ("dropout", &["p"]),
            8 => ("attention", &["heads", "rope", "dropout"]),
            9 => ("feed_forward", &["hidden", "activation"]),
            10 => ("position_embedding", &[]),
            11 => ("flatten", &[]),
            12 => ("last", &[]),
            13 => ("head", &["tied", "bias"]),
            14 => ("unknown_kind", &["x"]),
            _ if self.blocks > 0 => {
                let callee = format!("b{}", self.rng.below(self.blocks));
                let _ = write!(out, "{callee}(w = ");
                self.expr(out);
                out.push(')');
                return;
            }
            _ => ("relu", &[]),
        };
        out.push_str(name);
        out.push('(');
        let mut first = true;
        for arg in args {
            if self.rng.one_in(3) {
                continue;
            }
            if !first {
                out.push_str(", ");
            }
            first = false;
            let _ = write!(out, "{arg} = ");
            self.expr(out);
        }
        out.push(')');
    }

    fn body(&mut self, out: &mut String, statements: usize) {
        for _ in 0..statements {
            if self.rng.one_in(6) {
                let _ = write!(out, "{}: ", self.rng.pick(&["a", "b", "blocks", "x"]));
            }
            let nest = self.depth < self.max_depth;
            match self.rng.below(10) {
                0 if nest => {
                    out.push_str("repeat ");
                    self.expr(out);
                    self.block_body(out);
                }
                1 if nest => {
                    out.push_str("residual");
                    self.block_body(out);
                }
                2 if nest => {
                    out.push_str("if ");
                    self.expr(out);
                    self.block_body(out);
                    if self.rng.one_in(2) {
                        out.push_str(" else");
                        self.block_body(out);
                    }
                }
                _ => self.call(out),
            }
            out.push('\n');
        }
    }

    fn block_body(&mut self, out: &mut String) {
        self.depth += 1;
        out.push_str(" {\n");
        let n = self.rng.below(4);
        self.body(out, n);
        out.push('}');
        self.depth -= 1;
    }
}

/// A model, with `blocks` blocks that may call each other (fan-out, chains, recursion).
fn generate(rng: &mut Rng) -> (String, Vec<String>) {
    let mut text = String::new();
    for _ in 0..rng.below(3) {
        let include = rng.pick(&[
            "lib.model",
            "lib.model",
            "missing.model",
            "../escape.model",
            "/abs.model",
            "cycle_a.model",
            "deep0.model",
            "latin1.model",
            "fifo.model",
            "sub",
        ]);
        let _ = writeln!(text, "use \"{include}\"");
    }
    let most = if rng.one_in(20) { 80 } else { 5 };
    let blocks = rng.below(most);
    let max_depth = if rng.one_in(20) { 40 } else { 6 };
    let fan_out = rng.one_in(10);
    for i in 0..blocks {
        let _ = writeln!(text, "block b{i}(w = 4) {{");
        if fan_out && i + 1 < blocks {
            // Each block calls the next several times: exponential in the chain's length.
            for _ in 0..2 + rng.below(3) {
                let _ = writeln!(text, "b{}(w = w)", i + 1);
            }
        } else {
            let mut g = Generator { rng, blocks, depth: 1, max_depth };
            let n = 1 + g.rng.below(4);
            g.body(&mut text, n);
        }
        text.push_str("}\n");
    }
    let mut g = Generator { rng, blocks, depth: 1, max_depth };
    text.push_str("model m(context = ");
    if g.rng.one_in(4) {
        g.expr(&mut text);
    } else {
        text.push_str(g.rng.pick(&["4", "8", "16"]));
    }
    text.push_str(", d = ");
    if g.rng.one_in(4) {
        g.expr(&mut text);
    } else {
        text.push_str(g.rng.pick(&["4", "8"]));
    }
    text.push_str(", heads = 2) {\n");
    if !g.rng.one_in(10) {
        text.push_str("embedding(dim = d)\n");
    }
    let n = g.rng.below(6);
    g.body(&mut text, n);
    if !g.rng.one_in(10) {
        text.push_str("head()\n");
    }
    text.push_str("}\n");
    if g.rng.one_in(50) {
        // A near miss: a byte of the text cut away.
        let cut = g.rng.below(text.len());
        if text.is_char_boundary(cut) && text.is_char_boundary(cut + 1) {
            text.remove(cut);
        }
    }
    let mut overrides = Vec::new();
    for _ in 0..rng.below(3) {
        let mut value = String::new();
        Generator { rng, blocks: 0, depth: 0, max_depth: 40 }.expr(&mut value);
        let name = rng.pick(&["d", "context", "heads", "layers", "d=", ""]);
        overrides.push(format!("{name}={value}"));
    }
    (text, overrides)
}

/// The fixed files the generated models include.
fn include_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tinyarch-fuzz-structured-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let write = |name: &str, text: &[u8]| std::fs::write(dir.join(name), text).unwrap();
    write("lib.model", b"block lib_mlp(w = 8) {\n    linear(out = w)\n    relu()\n}\n");
    write("cycle_a.model", b"use \"cycle_b.model\"\nblock ca() { relu() }\n");
    write("cycle_b.model", b"use \"cycle_a.model\"\nblock cb() { relu() }\n");
    for i in 0..20 {
        write(
            &format!("deep{i}.model"),
            format!("use \"deep{}.model\"\nblock d{i}() {{ relu() }}\n", i + 1).as_bytes(),
        );
    }
    write("deep20.model", b"block d20() { relu() }\n");
    write("latin1.model", b"block caf\xe9() { relu() }\n");
    #[cfg(unix)]
    {
        let status = std::process::Command::new("mkfifo").arg(dir.join("fifo.model")).status();
        assert!(status.is_ok_and(|s| s.success()), "mkfifo");
    }
    dir
}

/// This process's peak resident memory, MiB (Linux; 0 elsewhere).
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().strip_suffix("kB"));
    kib.and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0) / 1024
}

fn compile(text: &str, dir: &Path, options: &Options, registry: &Registry) -> Result<(), Diagnostics> {
    let graph = resolve_source("fuzz.model", text, Some(dir), registry, options)?;
    check(graph, &Limits::default()).map(|_| ())
}

#[test]
fn generated_models_never_panic_hang_or_grow_without_bound() {
    let cases: usize = std::env::var("TINYARCH_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let seed: u64 = std::env::var("TINYARCH_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed_f022);
    let dir = include_dir();
    let registry = Registry::default();
    let mut rng = Rng(seed);
    let (mut accepted, mut slowest, mut slowest_case) = (0usize, Duration::ZERO, 0usize);
    let started = Instant::now();
    for case in 0..cases {
        let (text, overrides) = generate(&mut rng);
        let vocab = match rng.below(8) {
            0 => None,
            1 => Some(u64::MAX),
            _ => Some(1 + rng.below(70_000) as u64),
        };
        let options = Options { vocab, overrides };
        let begin = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| compile(&text, &dir, &options, &registry)));
        let took = begin.elapsed();
        match result {
            Ok(Ok(())) => accepted += 1,
            Ok(Err(d)) => assert!(!d.errors.is_empty() && !d.render().is_empty(), "case {case}: empty diagnostics"),
            Err(_) => panic!("case {case} panicked on this input ({:?}):\n{text}", options.overrides),
        }
        assert!(took < MAX_CASE_TIME, "case {case} took {took:?}:\n{text}");
        if took > slowest {
            (slowest, slowest_case) = (took, case);
        }
        if case % 64 == 0 || took > Duration::from_millis(20) {
            let rss = peak_rss_mib();
            assert!(rss <= MAX_RSS_MIB, "peak RSS {rss} MiB after case {case}:\n{text}\n{:?}", options);
        }
    }
    let rss = peak_rss_mib();
    assert!(rss <= MAX_RSS_MIB, "peak RSS {rss} MiB");
    println!(
        "{cases} cases in {:.1} s, {accepted} accepted; slowest case {slowest_case}: {:.1} ms; peak RSS {rss} MiB; 0 panics",
        started.elapsed().as_secs_f64(),
        slowest.as_secs_f64() * 1e3,
    );
    // The generator must reach the checker, not only the parser.
    assert!(cases < 1_000 || accepted > 0, "no generated model passed the check");
    let _ = std::fs::remove_dir_all(&dir);
}
