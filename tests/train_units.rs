//! The runner's parts on their own: budget arithmetic, schedules, run settings in RON,
//! checkpoints, sampling, evaluation averages and progress lines.

mod train_support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use tinyarch::data::{Objective, Sampler, SamplerConfig, TokenStream};
use tinyarch::ir::{Convention, TrainingFlops};
use tinyarch::train::{
    Average, Budget, CheckpointMeta, EpochShape, EvalProtocol, FlopsUsed, Observer, OptimizerConfig, Progress,
    RunConfig, SampleConfig, Schedule, StartEvent, StepEvent, TrainError, TrainProtocol, Trainable, evaluate, generate,
    load_checkpoint, load_into, save_checkpoint,
};
use train_support::{Bigram, scratch};

const PER_SAMPLE: TrainingFlops = TrainingFlops { exact: 1_000, dense: 4_000, kaplan: 700, paper: 9_000 };

/// Steps taken one by one, as the runner does: until the next would pass the budget.
fn simulate(budget: &Budget, shape: EpochShape) -> (u64, u64) {
    let (mut steps, mut samples) = (0u64, 0u64);
    loop {
        for i in 0..shape.batches() {
            let rows = shape.rows(i);
            if !budget.fits(samples, rows) {
                return (steps, samples);
            }
            steps += 1;
            samples += rows as u64;
        }
    }
}

#[test]
fn the_plan_takes_steps_until_the_next_would_pass_the_budget() {
    // 1,000 windows in batches of 64: 15 full batches and one of 40 per epoch.
    let shape = EpochShape { batch_size: 64, windows: 1_000 };
    for flops in [64_000.0, 64_999.0, 1e6, 999_999.0, 1e6 + 40_000.0, 3.3e6, 1e8 + 17.0] {
        let budget = Budget::new(flops, Convention::Exact, PER_SAMPLE).unwrap();
        let plan = budget.plan(shape).unwrap();
        assert_eq!((plan.steps, plan.samples), simulate(&budget, shape), "budget {flops}");
        // FLOPs used are the steps' costs exactly, in every convention.
        assert_eq!(plan.flops, FlopsUsed::of(plan.samples, &PER_SAMPLE));
        assert_eq!(plan.flops.exact, u128::from(plan.samples) * 1_000);
        assert_eq!(plan.flops.paper, u128::from(plan.samples) * 9_000);
        assert!(plan.flops.exact <= budget.limit);
        // The next batch in order would not fit.
        let next = shape.rows((plan.steps % shape.batches() as u64) as usize);
        assert!(plan.flops.exact + budget.step_cost(next) > budget.limit);
    }
    // Exactly one epoch: 16 steps, 1,000 samples, 1e6 FLOPs.
    let plan = Budget::new(1e6, Convention::Exact, PER_SAMPLE).unwrap().plan(shape).unwrap();
    assert_eq!((plan.steps, plan.samples, plan.flops.exact), (16, 1_000, 1_000_000));
    // The convention picks the per-sample cost: paper charges 9x, so 9x fewer samples fit.
    let paper = Budget::new(9e6, Convention::Paper, PER_SAMPLE).unwrap().plan(shape).unwrap();
    assert_eq!(paper.samples, 1_000);
}

#[test]
fn a_budget_below_one_step_is_an_error_that_names_the_smallest_budget() {
    let shape = EpochShape { batch_size: 64, windows: 1_000 };
    let err = Budget::new(63_999.0, Convention::Exact, PER_SAMPLE).unwrap().plan(shape).unwrap_err();
    let TrainError::BudgetTooSmall { step_cost, rows, .. } = &err else { panic!("{err}") };
    assert_eq!((*step_cost, *rows), (64_000, 64));
    let message = err.to_string();
    assert!(message.contains("smaller than one training step"), "{message}");
    assert!(message.contains("smallest budget that allows one step is 64000"), "{message}");
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(Budget::new(bad, Convention::Exact, PER_SAMPLE), Err(TrainError::Config { .. })));
    }
}

#[test]
fn large_budgets_stay_exact() {
    // 1e19 FLOPs at 3 FLOPs per sample: far beyond f64's exact integers in samples x cost.
    let per = TrainingFlops { exact: 3, dense: 3, kaplan: 3, paper: 3 };
    let shape = EpochShape { batch_size: 7, windows: 1_000_003 };
    let budget = Budget::new(1e19, Convention::Exact, per).unwrap();
    let plan = budget.plan(shape).unwrap();
    assert_eq!(plan.flops.exact, u128::from(plan.samples) * 3);
    assert!(plan.flops.exact <= 10_000_000_000_000_000_000);
    assert!(plan.flops.exact + 21 > 10_000_000_000_000_000_000);
}

#[test]
fn schedules_warm_up_linearly_and_decay_to_the_floor() {
    let lr = 1e-3;
    assert_eq!(Schedule::Constant.lr(lr, 0, 100), lr);
    assert_eq!(Schedule::Constant.lr(lr, 99, 100), lr);
    let s = Schedule::WarmupCosine { warmup_steps: 10, min_ratio: 0.1 };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
    assert!(close(s.lr(lr, 0, 111), lr / 11.0));
    assert!(close(s.lr(lr, 4, 111), 5.0 * lr / 11.0));
    assert!(close(s.lr(lr, 10, 111), lr)); // the peak, where decay starts
    // Halfway through the decay (steps 10..=110): the midpoint of peak and floor.
    assert!(close(s.lr(lr, 60, 111), 0.55 * lr));
    assert!(close(s.lr(lr, 110, 111), 0.1 * lr)); // the last step
    // Monotone down after the warmup.
    let decay: Vec<f64> = (10..111).map(|i| s.lr(lr, i, 111)).collect();
    assert!(decay.windows(2).all(|w| w[1] <= w[0]));
    assert!(Schedule::WarmupCosine { warmup_steps: 0, min_ratio: 1.5 }.validate().is_err());
}

fn custom_config() -> RunConfig {
    let mut c = RunConfig::new("ptb", 2.5e12, 64);
    c.tokenizer = Some("study".into());
    c.overrides = vec!["layers=4".into()];
    c.convention = Convention::Paper;
    c.optimizer =
        OptimizerConfig { decoupled: true, lr: 1e-3, weight_decay: 0.1, clip: Some(1.0), ..Default::default() };
    c.schedule = Schedule::WarmupCosine { warmup_steps: 100, min_ratio: 0.1 };
    c.train = TrainProtocol::Study { samples: 20_000, first_tokens: Some(80_000) };
    c.eval = EvalProtocol::FirstTokens(80_000);
    c.max_eval_batches = Some(50);
    c.average = Average::Batch;
    c.select_best = false;
    c
}

#[test]
fn run_settings_round_trip_through_ron() {
    let c = custom_config();
    let text = c.to_ron().unwrap();
    assert_eq!(RunConfig::from_ron(&text, "run.ron").unwrap(), c);
    let standard = RunConfig {
        objective: Objective::All,
        train: TrainProtocol::Standard,
        eval: EvalProtocol::Full,
        ..RunConfig::new("wikitext-2", 1e15, 64)
    };
    assert_eq!(RunConfig::from_ron(&standard.to_ron().unwrap(), "run.ron").unwrap(), standard);
    standard.validate().unwrap();
    // Only three fields are required.
    let short = "RunConfig(corpus: \"tiny-shakespeare\", budget: 1e13, context: 128)";
    assert_eq!(RunConfig::from_ron(short, "x").unwrap(), RunConfig::new("tiny-shakespeare", 1e13, 128));
}

#[test]
fn an_unknown_key_is_an_error_with_line_and_column() {
    let text = "RunConfig(\n    corpus: \"ptb\",\n    budget: 1e13,\n    learning_rate: 0.1,\n    context: 64,\n)";
    let err = RunConfig::from_ron(text, "exp.ron").unwrap_err();
    let TrainError::ConfigSyntax { line, column, message, .. } = &err else { panic!("{err}") };
    assert_eq!(*line, 4);
    assert!(*column >= 5 && *column <= 18, "column {column}");
    assert!(message.contains("learning_rate"), "{message}");
    assert!(err.to_string().starts_with("malformed run settings exp.ron:4:"), "{err}");
    // Inside the optimizer too.
    let nested = "RunConfig(corpus: \"ptb\", budget: 1e13, context: 64, optimizer: (decoupled: false, lr: 1e-3, \
                  betas: (0.9, 0.999), eps: 1e-8, weight_decay: 0.0, momentum: 0.9))";
    assert!(RunConfig::from_ron(nested, "x").is_err());
}

#[test]
fn settings_that_contradict_each_other_are_errors() {
    let mut c = RunConfig::new("ptb", 1e13, 64);
    c.objective = Objective::All; // with the study's random windows
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("objective `all`") && err.contains("Standard"), "{err}");
    let mut c = RunConfig::new("ptb", 1e13, 64);
    c.eval_interval = 0;
    assert!(c.validate().is_err());
}

fn meta(vocab: usize) -> CheckpointMeta {
    CheckpointMeta {
        model: "bigram".into(),
        source_sha256: "ab".repeat(32),
        corpus: "tiny-shakespeare".into(),
        tokenizer: "chars".into(),
        vocab,
    }
}

fn trained_bigram() -> Bigram {
    let tokens = TokenStream::new((0..500).map(|i| (i * 7 % 13) as u32).collect(), 13);
    let sampler = Sampler::new(&tokens, SamplerConfig::study_train(4, 16, 64, None, 3)).unwrap();
    let mut model = Bigram::new(13, 4, OptimizerConfig { lr: 0.1, ..Default::default() });
    for batch in sampler.epoch(0) {
        model.train_step(&batch, 0.1);
    }
    model
}

#[test]
fn checkpoints_round_trip_and_refuse_other_shapes() {
    let dir = scratch("checkpoint");
    let path = dir.join("model.safetensors");
    let model = trained_bigram();
    save_checkpoint(&path, &model.weights(), &meta(13)).unwrap();
    let loaded = load_checkpoint(&path).unwrap();
    assert_eq!(loaded.meta, meta(13));
    let mut fresh = Bigram::new(13, 4, OptimizerConfig::default());
    assert_eq!(load_into(&mut fresh, &path).unwrap(), meta(13));
    assert_eq!(fresh.weights(), model.weights()); // bit for bit, in the model's order

    let mut other = Bigram::new(12, 4, OptimizerConfig::default());
    let err = load_into(&mut other, &path).unwrap_err().to_string();
    assert!(err.contains("tensor `table.weight` has shape [13, 13] but the model's has shape [12, 12]"), "{err}");
    assert!(err.contains("help: the checkpoint was saved from `bigram`"), "{err}");

    // A tensor the model lacks, and one it needs.
    let mut w = model.weights();
    w.tensors[1].0 = "head.bias".into();
    save_checkpoint(&path, &w, &meta(13)).unwrap();
    let err = load_into(&mut fresh, &path).unwrap_err().to_string();
    assert!(err.contains("has no tensor `table.bias`, which the model needs"), "{err}");

    std::fs::write(&path, b"not a checkpoint").unwrap();
    let err = load_checkpoint(&path).unwrap_err().to_string();
    assert!(err.contains("not a safetensors file"), "{err}");
    assert_no_temp_files(&dir);
}

fn assert_no_temp_files(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.') && !name.contains(".tmp"), "left behind: {name}");
    }
}

#[test]
fn sampling_is_seeded_and_greedy_at_temperature_zero() {
    let mut model = trained_bigram();
    let config = SampleConfig { tokens: 30, temperature: 1.0, top_k: Some(5), seed: 9, pad: 0 };
    let a = generate(&mut model, &[1, 2], 4, &config).unwrap();
    let b = generate(&mut model, &[1, 2], 4, &config).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 30);
    assert!(a.iter().all(|&t| t < 13));
    // Greedy: always the argmax after the previous token.
    let greedy = generate(&mut model, &[5], 4, &SampleConfig { temperature: 0.0, ..config }).unwrap();
    let top1 = generate(&mut model, &[5], 4, &SampleConfig { top_k: Some(1), seed: 1, ..config }).unwrap();
    assert_eq!(greedy, top1);
    let mut prev = 5;
    for &t in &greedy {
        let logits = model.next_token_logits(&[0, 0, 0, prev], 1);
        let best = (0..13).max_by(|&i, &j| logits[i].total_cmp(&logits[j]).then(j.cmp(&i))).unwrap();
        assert_eq!(t as usize, best);
        prev = t;
    }
    for bad in [SampleConfig { temperature: -1.0, ..config }, SampleConfig { top_k: Some(0), ..config }] {
        assert!(matches!(generate(&mut model, &[1], 4, &bad), Err(TrainError::Sample { .. })));
    }
}

#[test]
fn sampling_streams_each_token_as_it_is_drawn_and_refuses_unbounded_lengths() {
    let mut model = trained_bigram();
    let config = SampleConfig { tokens: 12, temperature: 1.0, top_k: None, seed: 3, pad: 0 };
    let mut streamed = Vec::new();
    tinyarch::train::generate_each(&mut model, &[1], 4, &config, &mut |id| streamed.push(id)).unwrap();
    assert_eq!(streamed, generate(&mut model, &[1], 4, &config).unwrap());
    let too_many = SampleConfig { tokens: tinyarch::train::MAX_SAMPLE_TOKENS + 1, ..config };
    let mut emitted = 0;
    let err = tinyarch::train::generate_each(&mut model, &[1], 4, &too_many, &mut |_| emitted += 1).unwrap_err();
    assert!(matches!(err, TrainError::Sample { .. }));
    assert_eq!(emitted, 0, "refused before drawing");
}

#[test]
fn evaluation_keeps_both_averages() {
    let mut model = trained_bigram();
    let tokens = TokenStream::new((0..100).map(|i| (i * 5 % 13) as u32).collect(), 13);
    // 10 windows in batches of 4: 4, 4, 2. The batch mean weighs the short batch more.
    let sampler = Sampler::new(&tokens, SamplerConfig::study_eval_windows(4, 4, 10)).unwrap();
    let e = evaluate(&mut model, &sampler, None).unwrap();
    assert_eq!((e.targets, e.batches), (10, 3));
    let per_batch: Vec<f64> = sampler
        .epoch(0)
        .map(|b| {
            let (s, n) = model.eval_batch(&b);
            s / n as f64
        })
        .collect();
    assert!((e.nll(Average::Batch) - per_batch.iter().sum::<f64>() / 3.0).abs() < 1e-12);
    assert!((e.nll(Average::Token) - e.nll_sum / 10.0).abs() < 1e-12);
    assert_eq!(evaluate(&mut model, &sampler, Some(1)).unwrap().targets, 4);
}

/// A `Write` the test can read back.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn plain_progress_prints_every_n_steps_and_the_last() {
    let out = Shared::default();
    let mut progress = Progress::lines(Box::new(out.clone()), 4);
    progress.start(&StartEvent {
        model: "bigram".into(),
        device: "cpu".into(),
        params: 4_290,
        total_steps: Some(10),
        budget: Some(1_000_000),
        convention: Convention::Exact,
        step_cost: 100_000,
        resumed_at: None,
    });
    for step in 1..=10 {
        progress.step(&StepEvent {
            step,
            total_steps: Some(10),
            flops: u128::from(step) * 100_000,
            loss: 2.5,
            lr: 3e-4,
            tokens_per_second: 12_345.0,
            elapsed: std::time::Duration::from_secs(step),
        });
    }
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("bigram: 4,290 params on cpu, 10 steps"), "{text}");
    assert!(lines[1].starts_with("bigram step 4/10  flops 4.00e5/1.00e6 (40%)  loss 2.5000  12,345 tok/s"), "{text}");
    assert!(lines[3].starts_with("bigram step 10/10") && lines[3].ends_with("eta 0s"), "{text}");
}

#[test]
fn plain_progress_without_a_budget_or_a_length_counts_steps_and_time() {
    let out = Shared::default();
    let mut progress = Progress::lines(Box::new(out.clone()), 5);
    progress.start(&StartEvent {
        model: "bigram".into(),
        device: "cpu".into(),
        params: 4_290,
        total_steps: None,
        budget: None,
        convention: Convention::Exact,
        step_cost: 100_000,
        resumed_at: None,
    });
    progress.step(&StepEvent {
        step: 5,
        total_steps: None,
        flops: 500_000,
        loss: 2.5,
        lr: 3e-4,
        tokens_per_second: 12_345.0,
        elapsed: std::time::Duration::from_secs(75),
    });
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "bigram: 4,290 params on cpu, steps until the time limit of 1.00e5 FLOPs (exact)", "{text}");
    assert_eq!(lines[1], "bigram step 5  flops 5.00e5  loss 2.5000  12,345 tok/s  lr 3.00e-4  elapsed 1m15s", "{text}");
}
