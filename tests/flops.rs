//! Exact-convention forward FLOPs per sample of every zoo model, pinned and derived by hand.
//! Matrix products count 2 per multiply-accumulate. T = context, d = width, V = vocab = 65.

use std::path::Path;
use tinyarch::{Options, check_file};

fn forward_matmul(file: &str) -> u64 {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(file);
    check_file(&path, &Options::vocab(65)).unwrap_or_else(|d| panic!("{}", d.render())).summary.forward.matmul
}

const T: u64 = 128;
const D: u64 = 128;
const V: u64 = 65;

/// One attention layer: q/k/v and output projections 2*T*d*4d, QK^T 2*T*T*d, AV 2*T*T*d.
const fn attention(t: u64, d: u64) -> u64 {
    2 * t * d * 4 * d + 2 * (2 * t * t * d)
}

/// Two linear layers d -> h -> d over T positions.
const fn feed_forward(t: u64, d: u64, h: u64) -> u64 {
    2 * 2 * t * d * h
}

#[test]
fn linear_predictor() {
    // One product: the flattened window [T*d] times the head [T*d, V].
    assert_eq!(forward_matmul("study/linear.model"), 2 * T * D * V);
    assert_eq!(forward_matmul("study/linear.model"), 2_129_920);
}

#[test]
fn mlp() {
    let h = 128;
    assert_eq!(forward_matmul("study/mlp.model"), 2 * (T * D * h + h * h + h * V));
    assert_eq!(forward_matmul("study/mlp.model"), 4_243_712);
}

#[test]
fn self_attention() {
    let expected = attention(T, D) + feed_forward(T, D, 512) + 2 * T * D * V;
    assert_eq!(forward_matmul("study/self_attention.model"), expected);
    assert_eq!(expected, 60_850_176);
}

#[test]
fn transformer() {
    let expected = 3 * (attention(T, D) + feed_forward(T, D, 256)) + 2 * T * D * V;
    assert_eq!(forward_matmul("study/transformer.model"), expected);
    assert_eq!(expected, 127_959_040);
}

#[test]
fn rope_transformer() {
    // RoPE is elementwise: the matrix products are the post-LN transformer's.
    let expected = 3 * (attention(T, D) + feed_forward(T, D, 256)) + 2 * T * D * V;
    assert_eq!(forward_matmul("study/rope_transformer.model"), expected);
}

#[test]
fn gpt() {
    let expected = 4 * (attention(T, D) + feed_forward(T, D, 4 * D)) + 2 * T * D * V;
    assert_eq!(forward_matmul("gpt.model"), expected);
    assert_eq!(expected, 237_010_944);
}

#[test]
fn conventions_side_by_side() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/study/transformer.model");
    let s = check_file(&path, &Options::vocab(65)).unwrap().summary;
    assert_eq!(s.training.exact, 3 * s.forward.matmul);
    // Kaplan: 6N per predicted token plus 6 * n_layer * n_ctx * d, over T predicted tokens.
    let n = s.params - s.embedding_params;
    assert_eq!(s.training.kaplan, (6 * n + 6 * 3 * T * D) * T);
    // The study: 2 x all parameters x context.
    assert_eq!(s.training.paper, 2 * 430_785 * T);
}
