//! Models embedded in Rust (`tinyarch::model!`, `tinyarch::include_model!`): what compiles and
//! what it holds (this file is itself the passing case), what must not compile and the compiler
//! output it gives (`tests/embed/fail/*.rs` with their `.stderr`, run by trybuild), and the
//! typed API at run time.
//!
//! After a deliberate change to a diagnostic, `TRYBUILD=overwrite cargo test --test embed`
//! rewrites the expected outputs; review them as any snapshot.

mod common;

use tinyarch::backend::DeviceKind;
use tinyarch::data::{self, Locator, Split};
use tinyarch::diag::Code;
use tinyarch::embed::{Corpus, Data, Embedded, Error, PTB, PTB_EOS, TINY_SHAKESPEARE, WIKITEXT_2, WIKITEXT_2_EOS};
use tinyarch::train::{EvalProtocol, RunConfig, Silent, Status, TrainProtocol};
use tinyarch::{api, include_model};

#[test]
fn models_that_do_not_check_do_not_compile() {
    trybuild::TestCases::new().compile_fail("tests/embed/fail/*.rs");
}

/// The study's transformer at a context of 64: the type says so, or this would not compile.
// ANCHOR: include
const TRANSFORMER: Embedded<65, 64> =
    tinyarch::include_model!("models/study/transformer.model", vocab = 65, context = 64);
// ANCHOR_END: include

#[test]
fn an_included_file_is_embedded_with_its_overrides() {
    let file = std::fs::read_to_string("models/study/transformer.model").unwrap();
    assert_eq!(TRANSFORMER.name(), "transformer");
    assert_eq!(TRANSFORMER.text(), file);
    assert_eq!(TRANSFORMER.overrides(), ["context = 64"]);
    // 430,785 at context 128 (the study's table), less 64 learned positions of width 128.
    assert_eq!(TRANSFORMER.check().unwrap().summary.params, 430_785 - 64 * 128);
}

#[test]
fn includes_are_merged_into_one_text_that_checks_alone() {
    let model = include_model!("tests/embed/models/with_blocks.model", vocab = 65);
    let _: &Embedded<65, 8> = &model;
    let text = model.text();
    // The model's own lines stay where they were; the `use` is blanked, the block appended.
    assert!(text.starts_with("// A model that takes its block from another file"), "{text}");
    let blanked = format!("\n{}\n", " ".repeat(r#"use "blocks/pre_ln.model""#.len()));
    assert!(text.contains(&blanked), "the `use` line is blanked: {text}");
    assert!(text.contains("// included from `blocks/pre_ln.model`\n// x = x + Attention(LN(x)).\nblock pre_ln(heads)"));
    let again = Embedded::<65, 8>::from_source("merged", text).unwrap();
    assert_eq!(again.check().unwrap().summary.params, model.check().unwrap().summary.params);
}

#[test]
fn an_inline_model_keeps_its_layout_and_doc_comments() {
    // ANCHOR: inline
    let tiny = tinyarch::model! {
        vocab = 65, d = 2 * 8; // the vocabulary, then overrides as `--set d=16` would give
        /// Doc comments survive as `//` comments; plain ones are gone before the macro sees them.
        model tiny(context = 4, d = 8) {
            embedding(dim = d) // gone
            flatten()
            head()
        }
    };
    // ANCHOR_END: inline
    let expected = "// Doc comments survive as `//` comments; plain ones are gone before the macro sees them.
model tiny(context = 4, d = 8) {
    embedding(dim = d)
    flatten()
    head()
}";
    assert_eq!(tiny.text(), expected);
    assert_eq!(tiny.overrides(), ["d = 2 * 8"]);
    assert_eq!(tiny.check().unwrap().summary.params, 65 * 16 + (4 * 16) * 65 + 65);
}

#[test]
fn run_time_overrides_are_checked_when_set() {
    let two = TRANSFORMER.set("layers=2").unwrap();
    assert_eq!(two.overrides(), ["context = 64", "layers=2"]);
    assert_eq!(two.check().unwrap().summary.params, 298_305 - 64 * 128);

    match TRANSFORMER.set("layer=2") {
        Err(Error::Api(api::Error::Model(d))) => assert_eq!(d.codes(), [Code::UnknownOverride]),
        other => panic!("expected the unknown override's diagnostic, got {other:?}"),
    }
    match TRANSFORMER.set("heads=3") {
        Err(Error::Api(api::Error::Model(d))) => assert_eq!(d.codes(), [Code::Indivisible]),
        other => panic!("expected the heads diagnostic, got {other:?}"),
    }
    // Another context would be another type.
    assert!(matches!(TRANSFORMER.set("context=32"), Err(Error::Context { expected: 64, found: 32, .. })));
}

#[test]
fn a_context_that_is_not_the_type_is_refused_at_run_time() {
    let config = RunConfig::new("tiny-shakespeare", 1e9, 128);
    assert!(matches!(
        TRANSFORMER.build(&config, DeviceKind::Cpu),
        Err(Error::Context { expected: 64, found: 128, .. })
    ));
}

fn locator() -> Locator {
    Locator::from_env(Some(&common::data_dir()))
}

#[test]
fn built_in_corpora_have_the_vocabulary_their_type_says() {
    fn vocab<const V: usize>(corpus: Corpus<V>) -> usize {
        corpus.load(&locator()).unwrap_or_else(|e| panic!("{}: {e}", corpus.name)).dataset().vocab_size()
    }
    assert_eq!(vocab(TINY_SHAKESPEARE), 65);
    assert_eq!(vocab(TINY_SHAKESPEARE.split_set("nanogpt")), 65);
    assert_eq!(vocab(PTB), 9_999);
    assert_eq!(vocab(PTB_EOS), 10_000);
    assert_eq!(vocab(WIKITEXT_2), 33_277);
    assert_eq!(vocab(WIKITEXT_2_EOS), 33_278);
}

#[test]
fn data_of_another_vocabulary_is_refused_at_run_time() {
    let words = data::load("ptb", &locator(), None, None).unwrap();
    match Data::<65>::new(words) {
        Err(Error::Vocab { expected: 65, found: 9_999, what }) => assert_eq!(what, "`ptb` (study tokenizer)"),
        other => panic!("expected a vocabulary error, got {other:?}"),
    }
    let nanogpt = TINY_SHAKESPEARE.split_set("nanogpt").load(&locator()).unwrap();
    assert!(matches!(nanogpt.split(Split::Test), Err(Error::NoSplit { .. })));
}

#[test]
fn a_trained_run_restores_to_the_same_test_nll() {
    let tiny = tinyarch::model! {
        vocab = 65;
        model tiny(context = 8, d = 16) {
            embedding(dim = d)
            position_embedding()
            attention(heads = 2)
            layer_norm()
            head()
        }
    };
    let data = TINY_SHAKESPEARE.load(&locator()).unwrap();
    let mut config = tiny.run_config(&data, 4e9);
    assert_eq!(
        (config.context, config.split_set.as_deref(), config.tokenizer.as_deref()),
        (8, Some("study"), Some("chars"))
    );
    assert_eq!(config.train, TrainProtocol::Study { samples: 10_000, first_tokens: None });
    config.eval = EvalProtocol::FirstWindows(512);
    let out = common::TempDir::new("embed-run");
    let run = tiny.train(&data, &config, DeviceKind::Cpu, &out.0, &mut Silent).unwrap();
    assert_eq!(run.record.status, Status::Completed);
    assert!(run.record.steps > 10, "{} steps", run.record.steps);

    let mut restored = run.restore(DeviceKind::Cpu).unwrap();
    let test = restored.evaluate(&data, Split::Test).unwrap();
    assert_eq!(Some(test), run.record.test_nll, "the restored weights are the selected ones");
    assert!(test < 65f64.ln(), "it learned something: {test}");

    // A checkpoint saved from the restored model loads into a fresh one and gives the same logits.
    let path = out.0.join("again.safetensors");
    restored.save(&path).unwrap();
    let mut fresh = tiny.build(&RunConfig { seed: 7, ..config }, DeviceKind::Cpu).unwrap();
    let window = [data.encode("ROMEO: W").unwrap().try_into().unwrap()];
    assert_ne!(fresh.logits(&window).unwrap(), restored.logits(&window).unwrap());
    fresh.load(&path).unwrap();
    assert_eq!(fresh.logits(&window).unwrap(), restored.logits(&window).unwrap());
    assert!(matches!(fresh.logits(&[[65; 8]]), Err(Error::TokenId { id: 65, vocab: 65 })));
}

/// The chapter on embedding shows only Rust that cargo compiles: every ` ```rust ` block is
/// one `{{#include}}` of an example or a test.
#[test]
fn the_book_chapter_shows_compiled_rust() {
    let chapter = std::fs::read_to_string("book/src/embedding.md").unwrap();
    let mut blocks = 0;
    let mut lines = chapter.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```rust" {
            continue;
        }
        blocks += 1;
        let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let [include] = body.as_slice() else { panic!("a rust block is one `{{{{#include}}}}` line: {body:?}") };
        let target = include.trim().strip_prefix("{{#include ../../").and_then(|t| t.strip_suffix("}}"));
        let target = target.unwrap_or_else(|| panic!("not an include of a file: {include}"));
        let path = target.split(':').next().unwrap();
        assert!(
            (path.starts_with("examples/") || path.starts_with("tests/")) && path.ends_with(".rs"),
            "{path} is not compiled by cargo test"
        );
        assert!(std::path::Path::new(path).is_file(), "{path} does not exist");
    }
    assert!(blocks > 0, "the chapter shows the example");
}
