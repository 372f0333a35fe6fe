//! Every layer kind's analytic gradients equal central finite differences in f64 (relative
//! error below 1e-5), through the fused CPU kernels (whole attention core, and per-op) and through plain dfdx ops, with dropout on
//! where the layer has it.

use std::sync::Arc;

use tinyarch::backend::gradcheck::GradCheck;
use tinyarch::backend::{Fusion, Mode, Model, ParamStore};
use tinyarch::data::Objective;
use tinyarch::dfdx::prelude::*;
use tinyarch::{Options, check_source};

const TOLERANCE: f64 = 1e-5;
const BATCH: usize = 2;
const CONTEXT: usize = 4;
const VOCAB: u64 = 7;

/// Checks every parameter gradient of `body` wrapped as `model m(context = 4, d = 8) { ... }`.
fn check(body: &str, objective: Objective) {
    let source = format!("model m(context = {CONTEXT}, d = 8) {{ {body} }}");
    let checked =
        Arc::new(check_source("m.model", &source, &Options::vocab(VOCAB)).unwrap_or_else(|d| panic!("{}", d.render())));
    let ids: Vec<u32> = (0..BATCH * CONTEXT).map(|i| (i * 3 % VOCAB as usize) as u32).collect();
    let targets: Vec<u32> = match objective {
        Objective::Last => vec![1, 5],
        Objective::All => (0..BATCH * CONTEXT).map(|i| (i * 5 % VOCAB as usize) as u32).collect(),
    };
    for fusion in [Fusion::Attention, Fusion::Ops, Fusion::None] {
        let params: ParamStore<f64, Cpu> = {
            let specs = checked.nodes.iter().flat_map(|n| n.params.iter());
            ParamStore::from_specs(Cpu::seed_from_u64(0), specs, 3)
        };
        let mode = Mode { train: true, fusion };
        let loss = |p: &ParamStore<f64, Cpu>| {
            let model = Model::with_params(checked.clone(), p.clone());
            model.loss::<OwnedTape<f64, Cpu>>(&ids, &targets, BATCH, objective, mode)
        };
        GradCheck { seed: 11, ..GradCheck::default() }.assert(&params, TOLERANCE, loss);
    }
}

#[test]
fn embedding_and_head() {
    check("embedding(dim = d) head()", Objective::All);
}

#[test]
fn tied_head_without_bias() {
    check("embedding(dim = d) head(tied = true, bias = false)", Objective::All);
}

#[test]
fn position_embedding() {
    check("embedding(dim = d) position_embedding() head()", Objective::All);
    check("embedding(dim = d) position_embedding() head()", Objective::Last);
}

#[test]
fn flatten_and_last() {
    check("embedding(dim = d) flatten() head()", Objective::Last);
    check("embedding(dim = d) last() head()", Objective::Last);
}

#[test]
fn linear_with_and_without_bias() {
    check("embedding(dim = d) linear(out = 5) linear(out = d, bias = false) head()", Objective::All);
}

#[test]
fn activations() {
    for act in ["relu", "gelu", "tanh", "silu"] {
        check(&format!("embedding(dim = d) linear(out = d) {act}() head()"), Objective::All);
    }
}

#[test]
fn dropout() {
    check("embedding(dim = d) dropout(p = 0.3) head()", Objective::All);
}

#[test]
fn norms() {
    check("embedding(dim = d) layer_norm() head()", Objective::All);
    check("embedding(dim = d) layer_norm(bias = false) head()", Objective::All);
    check("embedding(dim = d) rms_norm() head()", Objective::All);
}

#[test]
fn attention_fused_and_separate_with_and_without_rope() {
    for args in
        ["", ", rope = true", ", projections = separate", ", projections = separate, rope = true", ", bias = false"]
    {
        for objective in [Objective::All, Objective::Last] {
            check(&format!("embedding(dim = d) attention(heads = 2{args}) head()"), objective);
        }
    }
}

#[test]
fn attention_dropout() {
    check("embedding(dim = d) attention(heads = 2, dropout = 0.2) head()", Objective::All);
}

#[test]
fn feed_forward() {
    for act in ["relu", "gelu", "tanh", "silu"] {
        check(
            &format!("embedding(dim = d) feed_forward(hidden = 6, activation = {act}, dropout = 0.1) head()"),
            Objective::All,
        );
    }
    check("embedding(dim = d) feed_forward(hidden = 6, bias = false) head()", Objective::All);
}

#[test]
fn residuals_including_an_empty_one() {
    check("embedding(dim = d) residual { layer_norm() linear(out = d) } residual { } head()", Objective::All);
    check("embedding(dim = d) residual { attention(heads = 2) } residual { linear(out = d) } head()", Objective::Last);
}
