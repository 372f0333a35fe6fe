//! Parameter counts equal PyTorch's for the study's 13 configurations (the study's parameter table):
//! vocab 65, context 128 and d = 128 unless said, untied heads with bias.

use std::path::Path;
use tinyarch::{Options, check_file};

fn params(file: &str, vocab: u64, sets: &[&str]) -> u64 {
    let mut options = Options::vocab(vocab);
    options.overrides = sets.iter().map(|s| s.to_string()).collect();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/study").join(file);
    check_file(&path, &options).unwrap_or_else(|d| panic!("{}", d.render())).summary.params
}

#[test]
fn linear_predictor_over_three_contexts() {
    assert_eq!(params("linear.model", 65, &["context=32"]), 274_625);
    assert_eq!(params("linear.model", 65, &["context=64"]), 540_865);
    assert_eq!(params("linear.model", 65, &["context=128"]), 1_073_345);
}

#[test]
fn mlp_over_three_hidden_widths() {
    assert_eq!(params("mlp.model", 65, &["hidden=128"]), 2_130_497);
    assert_eq!(params("mlp.model", 65, &["hidden=256"]), 4_285_377);
    assert_eq!(params("mlp.model", 65, &["hidden=512"]), 8_693_441);
}

#[test]
fn single_block_self_attention() {
    assert_eq!(params("self_attention.model", 65, &[]), 231_617);
}

#[test]
fn post_ln_transformer_over_three_depths() {
    assert_eq!(params("transformer.model", 65, &["layers=2"]), 298_305);
    assert_eq!(params("transformer.model", 65, &["layers=3"]), 430_785);
    assert_eq!(params("transformer.model", 65, &["layers=4"]), 563_265);
}

#[test]
fn pre_ln_transformer_with_rope_and_with_learned_positions() {
    assert_eq!(params("rope_transformer.model", 65, &["rope=true"]), 414_401);
    // Learned positions add context * d = 16,384.
    assert_eq!(params("rope_transformer.model", 65, &["rope=false"]), 414_401 + 128 * 128);
}

#[test]
fn word_level_transformers() {
    assert_eq!(params("transformer.model", 9_999, &["context=64"]), 2_975_631);
    assert_eq!(params("transformer.model", 33_277, &["context=64"]), 8_958_077);
}
