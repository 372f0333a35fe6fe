//! Hostile input: every input found to crash or hang the compiler, kept as a regression case
//! with its rendered diagnostic, and every language limit tested at its boundary. Each case
//! runs on a thread with a 1 MiB stack, half a test thread's, so passing shows a margin.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tinyarch::diag::Code;
use tinyarch::lang::{Options, check_library, limits, resolve_file, resolve_source};
use tinyarch::{Diagnostics, Limits, Registry};

const STACK: usize = 1 << 20;

/// Resolves and checks `text` on a small stack; the rendered diagnostics, or `None`.
fn compile(text: String, options: Options) -> Result<(), Diagnostics> {
    let run = move || {
        let graph = resolve_source("hostile.model", &text, None, &Registry::default(), &options)?;
        tinyarch::ir::check(graph, &Limits::default()).map(|_| ())
    };
    let started = Instant::now();
    let result = std::thread::Builder::new().stack_size(STACK).spawn(run).unwrap().join().expect("no panic");
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    result
}

fn fails_with(text: String, code: Code) -> String {
    let err = compile(text, Options::vocab(7)).expect_err("the input must be refused");
    assert_eq!(err.codes().first(), Some(&code), "{}", err.render());
    err.render()
}

fn model(body: &str) -> String {
    format!("model m(context = 4, d = 8) {{\n    embedding(dim = d)\n{body}    head()\n}}\n")
}

/// `n` nested bodies opened by `open`, one per line.
fn nested(open: &str, n: usize) -> String {
    model(&format!("{}{}", format!("{open} {{\n").repeat(n), "}\n".repeat(n)))
}

#[test]
fn ten_thousand_nested_bodies_are_refused_at_the_nesting_limit() {
    for open in ["residual", "repeat 1", "if true"] {
        let rendered = fails_with(nested(open, 10_000), Code::TooDeep);
        let name = open.split(' ').next().unwrap();
        insta::assert_snapshot!(format!("nested_{name}"), rendered);
    }
}

#[test]
fn nesting_passes_at_the_limit_and_fails_one_past_it() {
    // The model's body is the first level.
    let at = limits::MAX_NESTING - 1;
    compile(nested("residual", at), Options::vocab(7)).unwrap();
    fails_with(nested("residual", at + 1), Code::TooDeep);
    let parens = |n: usize| model(&format!("    linear(out = {}d{})\n", "(".repeat(n), ")".repeat(n)));
    compile(parens(limits::MAX_NESTING - 2), Options::vocab(7)).unwrap();
    fails_with(parens(limits::MAX_NESTING - 1), Code::TooDeep);
}

#[test]
fn ten_thousand_unary_minuses_and_a_sum_of_twenty_thousand_terms_are_refused() {
    let minuses = model(&format!("    linear(out = {}8)\n", "-\n    ".repeat(10_000)));
    insta::assert_snapshot!("unary_minuses", fails_with(minuses, Code::ExpressionTooLong));
    let terms = vec!["1"; 20_000].join("\n    + ");
    insta::assert_snapshot!(
        "long_sum",
        fails_with(model(&format!("    linear(out = {terms})\n")), Code::ExpressionTooLong)
    );
}

#[test]
fn expressions_pass_at_the_limit_and_fail_one_past_it() {
    let sum = |operators: usize| model(&format!("    linear(out = {})\n", vec!["1"; operators + 1].join(" + ")));
    compile(sum(limits::MAX_EXPRESSION_OPERATORS), Options::vocab(7)).unwrap();
    fails_with(sum(limits::MAX_EXPRESSION_OPERATORS + 1), Code::ExpressionTooLong);
}

fn chain(n: usize) -> String {
    let blocks: String = (0..n).map(|i| format!("block b{i}() {{ b{}() }}\n", i + 1)).collect();
    format!("{blocks}block b{n}() {{ relu() }}\n{}", model("    b0()\n"))
}

#[test]
fn ten_thousand_chained_block_calls_are_refused_at_the_depth_limit() {
    let rendered = fails_with(chain(10_000), Code::TooDeep);
    assert!(rendered.contains(&format!("more than {} deep", limits::MAX_EXPANSION_DEPTH)), "{rendered}");
    // The model's body is one level: a chain of `MAX - 1` block bodies fits.
    compile(chain(limits::MAX_EXPANSION_DEPTH - 2), Options::vocab(7)).unwrap();
    fails_with(chain(limits::MAX_EXPANSION_DEPTH - 1), Code::TooDeep);
}

#[test]
fn exponential_fan_out_stops_at_the_expansion_budget_in_milliseconds() {
    let blocks: String = (0..40).map(|i| format!("block f{i}() {{ f{}() f{}() }}\n", i + 1, i + 1)).collect();
    let text = format!("{blocks}block f40() {{ relu() }}\n{}", model("    f0()\n"));
    let started = Instant::now();
    let rendered = fails_with(text, Code::ExpansionLimit);
    assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
    insta::assert_snapshot!("fan_out", rendered);
    // The same with empty leaves, which never add a layer.
    let blocks: String = (0..40).map(|i| format!("block g{i}() {{ g{}() g{}() }}\n", i + 1, i + 1)).collect();
    fails_with(format!("{blocks}block g40() {{ }}\n{}", model("    g0()\n")), Code::ExpansionLimit);
    fails_with(model("    repeat 1000000000 { }\n"), Code::ExpansionLimit);
}

#[test]
fn the_layer_limit_is_checked_in_under_a_second() {
    // Input, embedding and head, then relus up to the limit.
    let relus = limits::MAX_NODES - 3;
    let started = Instant::now();
    compile(model(&format!("    repeat {relus} {{ relu() }}\n")), Options::vocab(7)).unwrap();
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    fails_with(model(&format!("    repeat {} {{ relu() }}\n", relus + 1)), Code::ExpansionLimit);
}

#[test]
fn naming_sixteen_thousand_unlabelled_layers_in_one_scope_is_linear() {
    let started = Instant::now();
    compile(model(&"    layer_norm()\n".repeat(16_384)), Options::vocab(7)).unwrap();
    assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
}

#[test]
fn dividing_the_smallest_integer_by_minus_one_overflows_instead_of_panicking() {
    let options = Options::vocab(7).set("d=(-9223372036854775807-1)/-1");
    let err = compile(model(""), options).unwrap_err();
    assert_eq!(err.codes(), vec![Code::Overflow]);
    insta::assert_snapshot!("min_over_minus_one", err.render());
    fails_with(model("    linear(out = (-9223372036854775807 - 1) / -1)\n"), Code::Overflow);
    fails_with(model("    linear(out = -(-9223372036854775807 - 1))\n"), Code::Overflow);
}

#[test]
fn symbols_stay_short_however_often_blocks_double_them() {
    let blocks: String = (0..30).map(|i| format!("block s{i}(w) {{ s{}(w = w + w) }}\n", i + 1)).collect();
    let text = format!("{blocks}block s30(w) {{ linear(out = w / w) }}\n{}", model("    s0(w = d)\n"));
    compile(text, Options::vocab(7)).unwrap();
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tinyarch-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn render_without(d: &Diagnostics, dir: &Path) -> String {
    d.render().replace(&dir.display().to_string(), "DIR")
}

#[test]
fn a_file_that_is_not_utf8_gets_its_line_column_and_byte_offset() {
    let dir = scratch("latin1");
    let path = dir.join("latin1.model");
    std::fs::write(&path, b"model m(context = 4, d = 8) {\n    // caf\xe9\n    embedding(dim = d)\n    head()\n}\n")
        .unwrap();
    let err = resolve_file(&path, &Registry::default(), &Options::vocab(7)).unwrap_err();
    assert_eq!(err.codes(), vec![Code::NotText]);
    insta::assert_snapshot!("not_utf8", render_without(&err, &dir));
}

#[cfg(unix)]
#[test]
fn a_fifo_named_by_use_or_directly_is_refused_at_once() {
    let dir = scratch("fifo");
    let fifo = dir.join("fifo.model");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let including = dir.join("m.model");
    std::fs::write(&including, format!("use \"fifo.model\"\n{}", model(""))).unwrap();
    let started = Instant::now();
    let err = resolve_file(&including, &Registry::default(), &Options::vocab(7)).unwrap_err();
    assert_eq!(err.codes(), vec![Code::NotText]);
    insta::assert_snapshot!("use_fifo", render_without(&err, &dir));
    let err = resolve_file(&fifo, &Registry::default(), &Options::vocab(7)).unwrap_err();
    assert_eq!(err.codes(), vec![Code::NotText]);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn includes_nest_at_most_to_the_include_limit() {
    let dir = scratch("includes");
    let depth = limits::MAX_INCLUDE_DEPTH + 2;
    for i in 0..depth {
        std::fs::write(
            dir.join(format!("i{i}.model")),
            format!("use \"i{}.model\"\nblock b{i}() {{ relu() }}\n", i + 1),
        )
        .unwrap();
    }
    std::fs::write(dir.join(format!("i{depth}.model")), "block last() { relu() }\n").unwrap();
    std::fs::write(dir.join("m.model"), format!("use \"i0.model\"\n{}", model(""))).unwrap();
    let err = resolve_file(&dir.join("m.model"), &Registry::default(), &Options::vocab(7)).unwrap_err();
    assert_eq!(err.codes(), vec![Code::TooDeep]);
    insta::assert_snapshot!("include_depth", render_without(&err, &dir));
}

#[test]
fn a_block_only_file_is_a_library() {
    let dir = scratch("library");
    std::fs::write(dir.join("blocks.model"), "block mlp(w) {\n    linear(out = w)\n    relu()\n}\n").unwrap();
    assert_eq!(check_library(&dir.join("blocks.model"), &Registry::default()).unwrap(), Some(vec!["mlp".into()]));
    std::fs::write(dir.join("bad.model"), "block bad() {\n    relux()\n}\n").unwrap();
    let err = check_library(&dir.join("bad.model"), &Registry::default()).unwrap_err();
    assert_eq!(err.codes(), vec![Code::UnknownLayer]);
    std::fs::write(dir.join("m.model"), model("")).unwrap();
    assert_eq!(check_library(&dir.join("m.model"), &Registry::default()).unwrap(), None);
}

#[test]
fn an_empty_directory_is_an_error() {
    let dir = scratch("empty");
    let err = tinyarch::lang::model_files(std::slice::from_ref(&dir)).unwrap_err();
    assert!(err.to_string().starts_with("no `.model` files in"), "{err}");
}

/// Found by the structure-aware fuzzer (case 512,167 of the first million): a context of
/// `i64::MAX` made an embedding's output elements overflow while the memory was estimated.
#[test]
fn outputs_whose_elements_overflow_are_refused() {
    let huge = || Options::vocab(7).set("context=9223372036854775807");
    for body in ["    last()\n", "    layer_norm()\n    last()\n", "    residual { }\n    last()\n"] {
        let err = compile(model(body), huge()).unwrap_err();
        assert_eq!(err.codes(), vec![Code::Overflow], "{}", err.render());
    }
    insta::assert_snapshot!("huge_context", compile(model("    last()\n"), huge()).unwrap_err().render());
}

/// The command line refuses bad flags and odd paths with a message that names them, and never
/// panics (exit 101).
#[test]
fn the_command_line_names_the_flag_or_path_at_fault() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tinyarch"))
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };
    let zoo = concat!(env!("CARGO_MANIFEST_DIR"), "/models/bigram.model");
    let (code, text) = run(&["sample", "runs", "--tokens", "18446744073709551615"]);
    assert_eq!(code, Some(2));
    assert!(text.contains("'--tokens <TOKENS>': 18446744073709551615 is not in 1..=1000000"), "{text}");
    let (code, text) = run(&["check", zoo, "--vocab", "0"]);
    assert_eq!(code, Some(2));
    assert!(text.contains("'--vocab <VOCAB>': 0 is not in 1.."), "{text}");
    let (code, text) = run(&["check", zoo, "--vocab", "65", "--max-memory", "nan"]);
    assert_eq!(code, Some(2));
    assert!(text.contains("'--max-memory <GIB>': must be a finite number above 0"), "{text}");
    let empty = scratch("cli-empty");
    let (code, text) = run(&["check", empty.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(text.contains("no `.model` files in"), "{text}");
    let lib = scratch("cli-library");
    std::fs::write(lib.join("blocks.model"), "block mlp(w) {\n    linear(out = w)\n}\n").unwrap();
    std::fs::write(lib.join("m.model"), format!("use \"blocks.model\"\n{}", model("    mlp(w = d)\n"))).unwrap();
    let (code, text) = run(&["check", lib.to_str().unwrap(), "--vocab", "7"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("library of 1 blocks: mlp"), "{text}");
}
