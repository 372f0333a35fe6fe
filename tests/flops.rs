//! Forward matrix-product FLOPs per sample of every zoo model under both objectives, pinned and
//! derived by hand, and held against what a training step of `run`'s build executes.
//! Matrix products count 2 per multiply-accumulate. T = context, d = width, V = vocab = 65.

use std::path::{Path, PathBuf};

use tinyarch::api::build;
use tinyarch::backend::DeviceKind;
use tinyarch::backend::ops::count::matmul_flops;
use tinyarch::data::Batch;
use tinyarch::ir::Objective::{self, All, Last};
use tinyarch::train::RunConfig;
use tinyarch::{Checked, Options, check_file};

fn zoo(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(file)
}

fn checked(file: &str) -> Checked {
    check_file(&zoo(file), &Options::vocab(V)).unwrap_or_else(|d| panic!("{}", d.render()))
}

fn forward_matmul(file: &str, objective: Objective) -> u64 {
    checked(file).plan(objective).forward.matmul
}

const T: u64 = 128;
const D: u64 = 128;
const V: u64 = 65;

/// One attention layer at every position: q/k/v and output projections 2*T*d*4d, QK^T and AV
/// 2*T*T*d each.
const fn attention(t: u64, d: u64) -> u64 {
    2 * t * d * 4 * d + 2 * (2 * t * t * d)
}

/// The same layer when only the last position is read: q and the output projection for one
/// row, k and v for all T, one query's scores against T keys and its mix of T values.
const fn attention_last(t: u64, d: u64) -> u64 {
    2 * d * d + 2 * t * d * 2 * d + 2 * d * d + 2 * (2 * t * d)
}

/// Two linear layers d -> h -> d over `rows` positions.
const fn feed_forward(rows: u64, d: u64, h: u64) -> u64 {
    2 * 2 * rows * d * h
}

#[test]
fn bigram() {
    let d = 32;
    assert_eq!(forward_matmul("bigram.model", All), 2 * T * d * V);
    // Only the last position's logits.
    assert_eq!(forward_matmul("bigram.model", Last), 2 * d * V);
    assert_eq!(forward_matmul("bigram.model", Last), 4_160);
}

#[test]
fn linear_predictor() {
    // One product: the flattened window [T*d] times the head [T*d, V]; one prediction per
    // window, so both objectives compute the same graph.
    for objective in [All, Last] {
        assert_eq!(forward_matmul("study/linear.model", objective), 2 * T * D * V);
    }
    assert_eq!(forward_matmul("study/linear.model", Last), 2_129_920);
}

#[test]
fn mlp() {
    let h = 128;
    for objective in [All, Last] {
        assert_eq!(forward_matmul("study/mlp.model", objective), 2 * (T * D * h + h * h + h * V));
    }
    assert_eq!(forward_matmul("study/mlp.model", Last), 4_243_712);
}

#[test]
fn self_attention() {
    let all = attention(T, D) + feed_forward(T, D, 512) + 2 * T * D * V;
    assert_eq!(forward_matmul("study/self_attention.model", All), all);
    assert_eq!(all, 60_850_176);
    let last = attention_last(T, D) + feed_forward(1, D, 512) + 2 * D * V;
    assert_eq!(forward_matmul("study/self_attention.model", Last), last);
    // 26,395,392 training FLOPs per window, the figure the budget is charged under `last`.
    assert_eq!(3 * last, 26_395_392);
}

#[test]
fn transformer_and_its_rope_variant() {
    let all = 3 * (attention(T, D) + feed_forward(T, D, 256)) + 2 * T * D * V;
    let last =
        2 * (attention(T, D) + feed_forward(T, D, 256)) + attention_last(T, D) + feed_forward(1, D, 256) + 2 * D * V;
    // RoPE is elementwise: the matrix products are the post-LN transformer's.
    for file in ["study/transformer.model", "study/rope_transformer.model"] {
        assert_eq!(forward_matmul(file, All), all);
        assert_eq!(forward_matmul(file, Last), last);
    }
    assert_eq!(all, 127_959_040);
    assert_eq!(last, 92_553_472);
}

#[test]
fn gpt() {
    let all = 4 * (attention(T, D) + feed_forward(T, D, 4 * D)) + 2 * T * D * V;
    assert_eq!(forward_matmul("gpt.model", All), all);
    assert_eq!(all, 237_010_944);
    let last = 3 * (attention(T, D) + feed_forward(T, D, 4 * D))
        + attention_last(T, D)
        + feed_forward(1, D, 4 * D)
        + 2 * D * V;
    assert_eq!(forward_matmul("gpt.model", Last), last);
    assert_eq!(last, 184_959_232);
}

#[test]
fn conventions_side_by_side() {
    let c = checked("study/transformer.model");
    let s = &c.summary;
    let n = s.params - s.embedding_params;
    for (objective, predicted) in [(All, T), (Last, 1)] {
        let plan = c.plan(objective);
        assert_eq!(plan.training.exact, 3 * plan.forward.matmul);
        // Kaplan: 6N per predicted token plus 6 * n_layer * n_ctx * d.
        assert_eq!(plan.training.kaplan, (6 * n + 6 * 3 * T * D) * predicted);
        // The study: 2 x all parameters x context, whatever is predicted.
        assert_eq!(plan.training.paper, 2 * 430_785 * T);
        // Dense: every position computed, whatever the loss reads.
        assert_eq!(plan.training.dense, c.plan(All).training.exact);
    }
}

/// The two accountings of one self-attention block under `last`: the pruned graph tinyarch runs
/// and the graph that computes every position, as the study's code does.
#[test]
fn dense_charges_every_position() {
    let c = checked("study/self_attention.model");
    let (last, all) = (c.plan(Last).training, c.plan(All).training);
    assert_eq!(last.exact, 26_395_392);
    assert_eq!(last.dense, 182_550_528);
    assert_eq!((all.exact, all.dense), (182_550_528, 182_550_528));
    // One prediction per window: nothing to prune, so the two agree.
    let mlp = checked("study/mlp.model").plan(Last).training;
    assert_eq!(mlp.exact, mlp.dense);
}

/// Every `.model` file of the zoo.
fn zoo_files() -> Vec<PathBuf> {
    let files: Vec<PathBuf> = tinyarch::lang::model_files(&[zoo("")]).unwrap().into_iter().map(|f| f.path).collect();
    assert!(files.len() >= 7, "{files:?}");
    files
}

/// What `check --objective O` prints as training FLOPs per sample is what `run --objective O`
/// charges per sample, and what a training step of `run`'s build executes: its forward matrix
/// products, counted in the ops, times 3 (the backward costs twice the forward).
#[test]
fn check_equals_what_run_charges_and_executes_for_every_zoo_model() {
    for file in zoo_files() {
        let check = || check_file(&file, &Options::vocab(V)).unwrap_or_else(|d| panic!("{}", d.render()));
        let checked = check();
        let context = checked.graph.context.size as usize;
        for objective in Objective::ALL.into_iter().filter(|&o| checked.fits(o)) {
            let from_check = checked.plan(objective).training;
            let config = RunConfig { objective, seed: 1, ..RunConfig::new("tiny-shakespeare", 1e12, context) };
            let mut model = build(check(), &config, DeviceKind::Cpu).unwrap();
            assert_eq!(model.flops_per_sample(objective), from_check, "{} under `{objective}`", file.display());
            let rows = 2;
            let ids: Vec<u32> = (0..rows * context).map(|i| (i % V as usize) as u32).collect();
            let targets = match objective {
                Last => ids.iter().step_by(context).copied().collect(),
                All => ids.clone(),
            };
            let batch = Batch { batch: rows, context, ids, targets, objective };
            let (_, executed) = matmul_flops(|| model.train_step(&batch, 1e-4));
            assert_eq!(3 * executed, rows as u64 * from_check.exact, "{} under `{objective}`", file.display());
        }
    }
}
