//! The real thing, small: the study's 3-layer post-LN transformer trained by the dfdx backend on
//! Tiny Shakespeare under a budget, through the same runner as `tinyarch run`. It must learn
//! (test NLL well below the corpus's unigram entropy), spend its FLOPs to the step, and give
//! bit-identical results from the same seed. With the `cuda` feature the runs train on the GPU.

mod train_support;

use std::path::Path;
use std::sync::Arc;

use tinyarch::backend::{BuildConfig, DeviceKind, build};
use tinyarch::data::{Objective, Sampler, SamplerConfig};
use tinyarch::train::{
    self, EvalProtocol, ModelSource, OptimizerConfig, RunConfig, RunRecord, Silent, Status, TrainProtocol,
};
use tinyarch::{Options, check_file};
use train_support::common::{model_files, repo_dir};
use train_support::{scratch, shakespeare, unigram_entropy};

const CONTEXT: usize = 32;

/// The test's device: the GPU in a CUDA build.
fn device() -> DeviceKind {
    if cfg!(feature = "cuda") { DeviceKind::Cuda(0) } else { DeviceKind::Cpu }
}

fn run(dir: &Path, objective: Objective) -> RunRecord {
    let file = repo_dir().join("models/study/transformer.model");
    let overrides = vec![format!("context={CONTEXT}")];
    let options = Options { vocab: Some(shakespeare().vocab_size() as u64), overrides: overrides.clone() };
    let checked = Arc::new(check_file(&file, &options).unwrap());
    let mut c = RunConfig::new("tiny-shakespeare", 0.0, CONTEXT);
    c.split_set = Some("study".into());
    c.overrides = overrides;
    c.objective = objective;
    c.batch = 32;
    c.optimizer = OptimizerConfig { lr: 2e-3, ..Default::default() };
    c.eval_interval = 40;
    c.max_eval_batches = Some(16);
    c.train_eval_batches = 4;
    match objective {
        Objective::Last => {
            c.train = TrainProtocol::Study { samples: 100_000, first_tokens: None };
            c.eval = EvalProtocol::FirstWindows(512);
        }
        Objective::All => {
            c.train = TrainProtocol::Standard;
            c.eval = EvalProtocol::Full;
        }
    }
    // 120 steps of 32 windows, and a little that buys no 121st.
    let per_sample = checked.plan(objective).training.exact;
    c.budget = Some((120 * 32 * per_sample + per_sample) as f64);
    let mut model = build(checked, &BuildConfig { device: device(), ..BuildConfig::cpu(c.seed) }).unwrap();
    let source = ModelSource::new("transformer", std::fs::read_to_string(&file).unwrap());
    train::run(model.as_mut(), &source, shakespeare(), &c, dir, &mut Silent).unwrap()
}

#[test]
fn the_study_transformer_learns_under_a_budget_and_reports_its_flops_exactly() {
    for objective in [Objective::Last, Objective::All] {
        let r = run(&scratch("real"), objective);
        assert_eq!(r.status, Status::Completed);
        assert_eq!(r.steps, 120);
        assert_eq!(r.flops_used.exact, u128::from(r.samples) * r.flops_per_sample.exact);
        let entropy = unigram_entropy(shakespeare());
        let test = r.test_nll.unwrap();
        // One target per window learns slower than one per position from the same steps.
        let margin = if objective == Objective::All { 0.4 } else { 0.15 };
        assert!(
            test < entropy - margin,
            "{objective:?}: test NLL {test:.3} is not clearly below the unigram entropy {entropy:.3}"
        );
    }
}

#[test]
fn the_same_seed_gives_bit_identical_results() {
    let a = run(&scratch("same-a"), Objective::Last);
    let b = run(&scratch("same-b"), Objective::Last);
    if device() == DeviceKind::Cpu {
        assert_eq!(a.test_nll.unwrap().to_bits(), b.test_nll.unwrap().to_bits());
        assert_eq!(a.valid_nll.unwrap().to_bits(), b.valid_nll.unwrap().to_bits());
    } else {
        // GPU reductions may add in a different order from one run to the next.
        assert!((a.test_nll.unwrap() - b.test_nll.unwrap()).abs() < 1e-4);
        assert!((a.valid_nll.unwrap() - b.valid_nll.unwrap()).abs() < 1e-4);
    }
}

/// Every model in `models/`, freshly initialised, scores about as well as a uniform guess: a
/// model that starts several nats above it (a head tied to N(0, 1) embeddings does) is cut off by
/// the divergence check before it has learned anything.
#[test]
fn every_zoo_model_starts_near_a_uniform_guess() {
    let data = shakespeare();
    let uniform = (data.vocab_size() as f64).ln();
    let files = model_files(&repo_dir().join("models"));
    assert!(files.len() >= 6, "the zoo has its models: {files:?}");
    let options = Options { vocab: Some(data.vocab_size() as u64), overrides: vec![format!("context={CONTEXT}")] };
    let sampler = Sampler::new(&data.valid, SamplerConfig::study_eval_windows(CONTEXT, 32, 256)).unwrap();
    for file in &files {
        let checked = Arc::new(check_file(file, &options).unwrap());
        let mut model = build(checked, &BuildConfig { device: device(), ..BuildConfig::cpu(1) }).unwrap();
        let nll = train::evaluate(model.as_mut(), &sampler, None).unwrap().token_mean();
        assert!(
            (nll - uniform).abs() < 1.0,
            "{}: initial NLL {nll:.3}, a uniform guess's is {uniform:.3}",
            file.display()
        );
    }
}
