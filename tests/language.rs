//! The language's semantics: parameters and overrides, expressions and their symbols,
//! layer paths, blocks, conditionals and includes.

use std::path::Path;
use tinyarch::diag::Code;
use tinyarch::ir::{Constant, Format, render_graph};
use tinyarch::{Checked, Options, check_file, check_source};

fn check(text: &str, options: Options) -> Checked {
    check_source("test.model", text, &options).unwrap_or_else(|d| panic!("{}", d.render()))
}

fn codes(text: &str, options: Options) -> Vec<Code> {
    check_source("test.model", text, &options).map(|_| Vec::new()).unwrap_or_else(|d| d.codes())
}

fn shape_of(c: &Checked, path: &str) -> String {
    let i = c.graph.nodes.iter().position(|n| n.path == path).unwrap_or_else(|| panic!("no node {path}"));
    c.nodes[i].shape.to_string()
}

const MLP: &str = "
model mlp(context = 8, d = 16, hidden = 4 * d) {
    embedding(dim = d)
    up: linear(out = hidden)
    gelu()
    down: linear(out = (hidden + d) / 5)
    head()
}";

#[test]
fn symbols_follow_the_expressions_that_made_them() {
    let c = check(MLP, Options::vocab(11));
    assert_eq!(shape_of(&c, "up"), "[context, hidden] = [8, 64]");
    assert_eq!(shape_of(&c, "down"), "[context, (hidden + d) / 5] = [8, 16]");
    assert_eq!(shape_of(&c, "head"), "[context, vocab] = [8, 11]");
}

#[test]
fn overrides_replace_defaults_and_are_recorded() {
    let c = check(MLP, Options::vocab(11).set("d=32").set("context=4"));
    assert_eq!(shape_of(&c, "up"), "[context, hidden] = [4, 128]");
    let d = c.graph.params.iter().find(|p| p.name == "d").unwrap();
    assert_eq!((d.value.clone(), d.overridden), (Constant::Int(32), true));
    let hidden = c.graph.params.iter().find(|p| p.name == "hidden").unwrap();
    assert!(!hidden.overridden, "derived from an override, not overridden itself");
}

#[test]
fn precedence_and_exact_division() {
    let model = |expr: &str| format!("model m(context = 2, d = {expr}) {{ embedding(dim = d) head() }}");
    let width = |expr: &str| check(&model(expr), Options::vocab(3)).graph.params[1].value.clone();
    assert_eq!(width("2 + 3 * 4"), Constant::Int(14));
    assert_eq!(width("(2 + 3) * 4"), Constant::Int(20));
    assert_eq!(width("20 - 6 - 2"), Constant::Int(12));
    assert_eq!(width("64 / 4 / 2"), Constant::Int(8));
    assert_eq!(width("-(-5)"), Constant::Int(5));
    assert_eq!(codes(&model("7 / 2"), Options::vocab(3)), vec![Code::InexactDivision]);
    assert_eq!(codes(&model("0 - 4"), Options::vocab(3)), vec![Code::InvalidArgument]);
}

#[test]
fn repeats_and_blocks_name_layers_by_path() {
    let c =
        check_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/study/transformer.model"), &Options::vocab(65))
            .unwrap();
    let paths: Vec<&str> = c.graph.nodes.iter().map(|n| n.path.as_str()).collect();
    for expected in ["blocks.0.attn", "blocks.2.mlp", "blocks.2.ln2", "blocks.1.residual_1", "ln_f", "head"] {
        assert!(paths.contains(&expected), "{expected} missing from {paths:?}");
    }
    let params: Vec<&str> = c.nodes.iter().flat_map(|n| n.params.iter().map(|p| p.name.as_str())).collect();
    assert!(params.contains(&"blocks.2.attn.qkv.weight"));
}

#[test]
fn residuals_join_the_body_with_its_input() {
    let c = check(
        "model m(context = 4, d = 8) { embedding(dim = d) residual { linear(out = d) } head() }",
        Options::vocab(5),
    );
    let add = c.graph.nodes.iter().find(|n| n.path == "residual").unwrap();
    assert_eq!(add.inputs, vec![2, 1]);
}

#[test]
fn if_chooses_a_branch_from_a_parameter() {
    let text = "model m(context = 4, d = 8, norm = true) { embedding(dim = d) if norm { layer_norm() } else { rms_norm() } head() }";
    assert!(check(text, Options::vocab(5)).graph.nodes.iter().any(|n| n.path == "layer_norm"));
    assert!(check(text, Options::vocab(5).set("norm=false")).graph.nodes.iter().any(|n| n.path == "rms_norm"));
}

#[test]
fn block_parameters_have_defaults_and_lexical_scope() {
    let text = "
block mix(width, factor = 2) { linear(out = width * factor) }
model m(context = 4, d = 8) { embedding(dim = d) mix(width = d) head() }";
    assert_eq!(shape_of(&check(text, Options::vocab(5)), "linear"), "[context, d * 2] = [4, 16]");
    // `d` is the model's: a block cannot see it.
    let leaky = "block mix(width) { linear(out = d) }\nmodel m(context = 4, d = 8) { embedding(dim = d) mix(width = d) head() }";
    assert_eq!(codes(leaky, Options::vocab(5)), vec![Code::UnknownName]);
}

#[test]
fn every_error_in_a_file_is_reported() {
    let text = "model m(context = 4, d = 8) { embedding(dim = d) lnear(out = d) linear(out = d, bias = 3) dropout(p = 2.0) head() }";
    // The dropout's range is a shape-check error; resolution errors come first and stop there.
    assert_eq!(codes(text, Options::vocab(5)), vec![Code::UnknownLayer, Code::ArgumentType]);
}

#[test]
fn includes_are_relative_and_stay_below_the_including_file() {
    let dir = tempdir();
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(dir.join("lib/blocks.model"), "block proj(w) { linear(out = w) }").unwrap();
    std::fs::write(
        dir.join("m.model"),
        "use \"lib/blocks.model\"\nmodel m(context = 4) { embedding(dim = 8) proj(w = 8) head() }",
    )
    .unwrap();
    assert!(check_file(&dir.join("m.model"), &Options::vocab(5)).is_ok());

    // A symlink that points outside is caught by its real path.
    let outside = tempdir();
    std::fs::write(outside.join("evil.model"), "block proj(w) { linear(out = w) }").unwrap();
    std::os::unix::fs::symlink(outside.join("evil.model"), dir.join("link.model")).unwrap();
    std::fs::write(
        dir.join("n.model"),
        "use \"link.model\"\nmodel m(context = 4) { embedding(dim = 8) proj(w = 8) head() }",
    )
    .unwrap();
    let err = check_file(&dir.join("n.model"), &Options::vocab(5)).unwrap_err();
    assert_eq!(err.codes(), vec![Code::IncludeEscapes, Code::UnknownLayer]);
}

#[test]
fn graphs_render_as_dot_and_json() {
    let c = check(MLP, Options::vocab(11));
    let dot = render_graph(&c, Format::Dot);
    assert!(dot.starts_with("digraph \"mlp\"") && dot.contains("n1 -> n2;"));
    let json: serde_json::Value = serde_json::from_str(&render_graph(&c, Format::Json)).unwrap();
    assert_eq!(json["nodes"][2]["dims"], serde_json::json!([8, 64]));
    assert_eq!(json["summary"]["params"], serde_json::json!(c.summary.params));
}

#[test]
fn huge_repeats_are_refused_quickly() {
    let text = "model m(context = 4, d = 8) { embedding(dim = d) repeat 1000000000 { relu() } head() }";
    assert_eq!(codes(text, Options::vocab(5)), vec![Code::ExpansionLimit]);
}

/// A fresh directory in the system temp dir, unique per process and call.
fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir =
        std::env::temp_dir().join(format!("tinyarch-lang-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
