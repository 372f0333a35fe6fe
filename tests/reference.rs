//! Forward outputs and gradients against PyTorch on fixed weights: logits, loss and every
//! parameter gradient of each kind of zoo model, under each objective it allows, equal the
//! fixtures made by `tools/reference/make_fixtures.py` within 1e-4 relative (norm-wise per
//! tensor). tinyarch runs in f32, as in training; the fixtures are PyTorch in f64.
//!
//! With the `cuda` feature the same comparisons run on the GPU, where every fused op falls back
//! to the composite dfdx ops, within 5e-4: cuBLAS and the reductions sum in another order.

use std::sync::Arc;

mod common;

use safetensors::SafeTensors;
use tinyarch::backend::{Forwards, Fusion, Mode, Model};
use tinyarch::data::Objective;
use tinyarch::dfdx::prelude::*;
use tinyarch::{Options, check_file};

#[cfg(not(feature = "cuda"))]
mod device {
    pub type Dev = tinyarch::dfdx::prelude::Cpu;
    pub const TOLERANCE: f64 = 1e-4;
    pub fn device() -> Dev {
        Dev::seed_from_u64(0)
    }
}

#[cfg(feature = "cuda")]
mod device {
    pub type Dev = tinyarch::dfdx::prelude::Cuda;
    pub const TOLERANCE: f64 = 5e-4;
    pub fn device() -> Dev {
        tinyarch::backend::cuda_device(0, 0).unwrap_or_else(|e| panic!("{e}"))
    }
}

use device::{Dev, TOLERANCE};

fn f64s(st: &SafeTensors, name: &str) -> Vec<f64> {
    let view = st.tensor(name).unwrap_or_else(|_| panic!("fixture has no `{name}`"));
    view.data().chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect()
}

fn ids(st: &SafeTensors, name: &str) -> Vec<u32> {
    let view = st.tensor(name).unwrap();
    view.data().chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap()) as u32).collect()
}

/// `||a - b|| / max(||b||, floor)`. The floor keeps gradients that are zero in exact arithmetic
/// (a key bias shifts every score of a row equally, which softmax ignores) from dividing f32
/// rounding noise by nothing.
fn relative(a: &[f64], b: &[f64]) -> f64 {
    const FLOOR: f64 = 1e-3;
    assert_eq!(a.len(), b.len());
    let diff: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt();
    let norm: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    diff / norm.max(FLOOR)
}

fn compare(fixture: &str, fusion: Fusion) {
    let root = common::repo_dir();
    let bytes = std::fs::read(root.join("tests/fixtures/reference").join(format!("{fixture}.safetensors"))).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut options = Options::vocab(meta["vocab"].parse().unwrap());
    options.overrides = meta["set"].split(',').map(str::to_string).collect();
    let checked = check_file(&root.join(&meta["model"]), &options).unwrap_or_else(|d| panic!("{}", d.render()));
    let objective = if meta["objective"] == "last" { Objective::Last } else { Objective::All };
    let batch: usize = meta["batch"].parse().unwrap();

    let mut model: Model<f32, Dev> = Model::new(Arc::new(checked), &Forwards::default(), device::device(), 0).unwrap();
    let names: Vec<String> = model.params.iter().map(|(n, _)| n.to_string()).collect();
    for name in &names {
        let values: Vec<f32> = f64s(&st, &format!("param.{name}")).iter().map(|&v| v as f32).collect();
        assert!(model.params.set(name, &values), "{fixture}: `{name}` has the wrong size");
    }
    let fixture_params = st.names().iter().filter(|n| n.starts_with("param.")).count();
    assert_eq!(fixture_params, names.len(), "{fixture}: parameter sets differ");

    let mode = Mode { train: false, fusion };
    let x = ids(&st, "input.ids");
    let targets = ids(&st, "input.targets");
    let logits = model.forward::<NoneTape>(&x, batch, objective, mode).as_vec();
    let logits: Vec<f64> = logits.iter().map(|&v| v as f64).collect();
    let err = relative(&logits, &f64s(&st, "out.logits"));
    assert!(err < TOLERANCE, "{fixture}: logits differ by {err:e}");

    let loss = model.loss::<OwnedTape<f32, Dev>>(&x, &targets, batch, objective, mode);
    let value = loss.as_vec()[0] as f64;
    let expected = f64s(&st, "out.loss")[0];
    assert!(((value - expected) / expected).abs() < TOLERANCE, "{fixture}: loss {value} != {expected}");
    let grads = loss.backward();
    for name in &names {
        let p = &model.params.param(name).value;
        let g: Vec<f64> = grads.get(p).as_vec().iter().map(|&v| v as f64).collect();
        let err = relative(&g, &f64s(&st, &format!("grad.{name}")));
        assert!(err < TOLERANCE, "{fixture}: gradient of `{name}` differs by {err:e}");
    }
}

macro_rules! fixtures {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            compare(stringify!($name), Fusion::Attention);
            compare(stringify!($name), Fusion::Ops);
            compare(stringify!($name), Fusion::None);
        }
    )*};
}

fixtures!(
    linear,
    mlp,
    self_attention_all,
    self_attention_last,
    transformer_all,
    transformer_last,
    rope_transformer_rope_all,
    rope_transformer_rope_last,
    rope_transformer_learned_all,
    rope_transformer_learned_last,
    gpt_all,
    gpt_last,
);
