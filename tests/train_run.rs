//! The budget runner end to end, on Tiny Shakespeare with a bigram model: it learns, spends the
//! budget to the step, is reproducible, restores the best validation, survives divergence and
//! leaves a complete run folder.

mod train_support;

use std::path::Path;

use tinyarch::data::Sampler;
use tinyarch::ir::Convention;
use tinyarch::train::{
    self, CurvePoint, EvalProtocol, ModelSource, OptimizerConfig, RunConfig, RunRecord, Silent, Status, TrainProtocol,
    Trainable,
};
use train_support::{Bigram, scratch, shakespeare, unigram_entropy};

const CONTEXT: usize = 16;

fn config() -> RunConfig {
    let mut c = RunConfig::new("tiny-shakespeare", 0.0, CONTEXT);
    c.split_set = Some("study".into());
    c.optimizer = OptimizerConfig { lr: 0.05, ..Default::default() };
    // 1,000 windows per epoch in batches of 64: the 16th batch of each epoch has 40 rows.
    c.train = TrainProtocol::Study { samples: 1_000, first_tokens: None };
    c.eval = EvalProtocol::FirstWindows(2_000);
    c.eval_interval = 25;
    c.seed = 7;
    // 200 steps: 12 epochs and 8 full batches of the 13th, at 6 * 65 FLOPs per sample, plus a
    // little that buys no further step.
    c.budget = Some(((12 * 1_000 + 8 * 64) * 6 * 65 + 1_000) as f64);
    c
}

fn source() -> ModelSource {
    ModelSource::new("bigram", "model bigram(context = 16) { }\n")
}

fn bigram(c: &RunConfig) -> Bigram {
    Bigram::new(shakespeare().vocab_size(), CONTEXT, c.optimizer)
}

fn run(model: &mut Bigram, c: &RunConfig, dir: &Path) -> RunRecord {
    train::run(model, &source(), shakespeare(), c, dir, &mut Silent).unwrap()
}

fn curve(dir: &Path) -> Vec<CurvePoint> {
    let text = std::fs::read_to_string(dir.join("curve.jsonl")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn assert_clean(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.') && !name.contains(".tmp"), "a temporary file was left: {name}");
    }
}

#[test]
fn a_run_learns_spends_its_budget_to_the_step_and_writes_its_folder() {
    let c = config();
    let dir = scratch("learns");
    let mut model = bigram(&c);
    let r = run(&mut model, &c, &dir);
    assert_eq!(r.status, Status::Completed);

    // Budget: the steps' costs add up exactly, and the next step would not fit.
    let per = 6 * 65;
    assert_eq!(r.flops_per_sample.exact, per);
    // 200 steps: 12 epochs of 16 batches (15 x 64 + 40) and 8 full batches of the 13th.
    assert_eq!((r.steps, r.samples), (200, 12 * 1_000 + 8 * 64));
    assert_eq!(r.flops_used.exact, u128::from(r.samples) * per);
    assert!(
        r.flops_used.exact <= c.budget.unwrap() as u128 && r.flops_used.exact + 64 * per > c.budget.unwrap() as u128
    );
    assert_eq!(r.flops_used.paper, u128::from(r.samples) * 2 * 65 * 65 * CONTEXT as u128);
    assert_eq!(r.tokens, r.samples * CONTEXT as u64);
    let points = curve(&dir);
    assert_eq!(points.len(), 200);
    assert_eq!(points.last().unwrap().flops, r.flops_used.exact);

    // Learning: the loss falls from ln 65 and test NLL ends well below the unigram entropy.
    let first = points[0].train_loss.unwrap();
    assert!((first - 65f64.ln()).abs() < 1e-4, "first loss {first}");
    let last = points[190..].iter().map(|p| p.train_loss.unwrap()).sum::<f64>() / 10.0;
    let test = r.test_nll.unwrap();
    let unigram = unigram_entropy(shakespeare());
    assert!(last < 2.8 && test < unigram - 0.5, "last loss {last}, test {test}, unigram {unigram}");
    assert!((r.perplexity.unwrap() - test.exp()).abs() < 1e-9);
    assert!((r.bits_per_token.unwrap() - test / std::f64::consts::LN_2).abs() < 1e-9);
    assert!(r.train_nll.unwrap() < unigram && r.valid_nll.unwrap() < unigram);
    // Validation every 25 steps; the run took 200, so 8 evaluations.
    assert_eq!(points.iter().filter(|p| p.valid_nll.is_some()).count(), 8);
    assert_eq!(r.params, 65 * 65 + 65);

    // The folder reruns the run: model source, settings, weights, one record.
    assert_eq!(std::fs::read_to_string(dir.join("model.model")).unwrap(), source().text);
    let saved = RunConfig::from_ron(&std::fs::read_to_string(dir.join("run.ron")).unwrap(), "run.ron").unwrap();
    assert_eq!(saved, c);
    assert_eq!(RunRecord::read_all(&dir.join("results.jsonl")).unwrap(), vec![r.clone()]);
    assert_eq!(r.source_sha256, source().sha256());
    assert_eq!(r.source_sha256.len(), 64);
    let mut reloaded = bigram(&c);
    train::load_into(&mut reloaded, &dir.join("model.safetensors")).unwrap();
    assert_eq!(reloaded.weights(), model.weights());
    assert_clean(&dir);
}

/// The numbers of a record, without wall-clock figures.
fn numbers(mut r: RunRecord) -> RunRecord {
    r.wall_seconds = 0.0;
    r.tokens_per_second = 0.0;
    r
}

#[test]
fn the_same_seed_gives_the_same_numbers() {
    let c = config();
    let (a, b) = (scratch("same-seed-a"), scratch("same-seed-b"));
    let ra = run(&mut bigram(&c), &c, &a);
    let rb = run(&mut bigram(&c), &c, &b);
    assert_eq!(numbers(ra.clone()), numbers(rb));
    for file in ["curve.jsonl", "model.safetensors", "run.ron"] {
        assert_eq!(std::fs::read(a.join(file)).unwrap(), std::fs::read(b.join(file)).unwrap(), "{file}");
    }
    // Another seed draws other windows.
    let other = RunConfig { seed: 8, ..c.clone() };
    let rc = run(&mut bigram(&other), &other, &scratch("same-seed-c"));
    assert_ne!(ra.test_nll, rc.test_nll);
}

#[test]
fn a_run_far_worse_than_a_uniform_guess_is_reported_as_diverged() {
    let c = config();
    let dir = scratch("blown-up");
    let mut model = bigram(&c);
    // As a huge learning rate would: after step 100 the weights blow up.
    (model.spoil_after, model.spoil_noise) = (Some(100), 30.0);
    let r = run(&mut model, &c, &dir);
    assert_eq!(r.status, Status::Diverged, "{r:?}");
    let message = r.message.as_deref().unwrap_or_default();
    assert!(message.contains("at step 125, more than 3 times a uniform guess's (12.5232)"), "{message}");
    // The healthy weights of step 100 are kept, as for a loss that is not a number.
    assert_eq!(r.selected_step, Some(100));
    assert!(r.valid_nll.unwrap() < 4.2 && r.test_nll.is_none());
}

#[test]
fn the_best_validation_weights_are_restored() {
    let c = config();
    let dir = scratch("best");
    let mut model = bigram(&c);
    // Good until step 100, then every step adds noise: validation worsens.
    model.spoil_after = Some(100);
    let r = run(&mut model, &c, &dir);
    assert_eq!(r.status, Status::Completed);
    assert_eq!(r.selected_step, Some(100));
    let points = curve(&dir);
    let valids: Vec<(u64, f64)> = points.iter().filter_map(|p| p.valid_nll.map(|v| (p.step, v))).collect();
    let (best_step, best) = valids.iter().cloned().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    assert_eq!((best_step, Some(best)), (100, r.valid_nll));
    assert!(valids.last().unwrap().1 > best + 0.5, "{valids:?}");

    // The model now holds the step-100 weights: evaluating validation again gives the record's number.
    let valid = Sampler::new(&shakespeare().valid, c.eval_sampler()).unwrap();
    let again = train::evaluate(&mut model, &valid, None).unwrap().nll(c.average);
    assert_eq!(again, best);

    // Without selection, the last (spoiled) weights are tested.
    let plain = RunConfig { select_best: false, ..c.clone() };
    let mut spoiled = bigram(&plain);
    spoiled.spoil_after = Some(100);
    let rp = run(&mut spoiled, &plain, &scratch("best-off"));
    assert_eq!(rp.selected_step, Some(200));
    assert!(rp.test_nll.unwrap() > r.test_nll.unwrap() + 0.5);
}

#[test]
fn a_loss_that_is_not_finite_stops_that_run_only() {
    let c = config();
    let dir = scratch("diverged");
    let mut model = bigram(&c);
    model.nan_at = Some(30);
    let r = run(&mut model, &c, &dir);
    assert_eq!(r.status, Status::Diverged);
    assert_eq!(r.message.as_deref(), Some("the loss is NaN at step 30"));
    assert_eq!(r.steps, 30);
    assert_eq!(r.flops_used.exact, u128::from(r.samples) * 6 * 65);
    assert_eq!((r.test_nll, r.train_nll), (None, None));
    // The validation at step 25 was complete and is kept, with its weights.
    assert_eq!(r.selected_step, Some(25));
    assert!(r.valid_nll.is_some());
    let line = std::fs::read_to_string(dir.join("results.jsonl")).unwrap();
    assert!(line.contains("\"status\":\"diverged\""), "{line}");
    let points = curve(&dir);
    assert_eq!((points.len(), points[29].train_loss), (30, None));
    assert!(dir.join("model.safetensors").exists());
    assert_clean(&dir);

    // The next model goes on, into the same folder: its record is appended.
    let r2 = run(&mut bigram(&c), &c, &dir);
    assert_eq!(r2.status, Status::Completed);
    let records = RunRecord::read_all(&dir.join("results.jsonl")).unwrap();
    assert_eq!(records.iter().map(|r| r.status).collect::<Vec<_>>(), [Status::Diverged, Status::Completed]);
}

#[test]
fn errors_come_before_training() {
    let dir = scratch("errors");
    // A budget below one step of 64 samples.
    let small = RunConfig { budget: Some(1_000.0), ..config() };
    let err = train::run(&mut bigram(&small), &source(), shakespeare(), &small, &dir, &mut Silent).unwrap_err();
    assert!(err.to_string().contains("the smallest budget that allows one step is 24960"), "{err}");
    // Settings for another corpus.
    let ptb = RunConfig { corpus: "ptb".into(), ..config() };
    let err = train::run(&mut bigram(&ptb), &source(), shakespeare(), &ptb, &dir, &mut Silent).unwrap_err();
    assert!(err.to_string().contains("corpus `ptb`"), "{err}");
    // Nothing was written.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    // The Kaplan convention counts differently: fewer steps for the same number.
    // Two epochs and two batches.
    let kaplan = RunConfig { convention: Convention::Kaplan, budget: Some((2_128 * 6 * 65 * 65) as f64), ..config() };
    let r = run(&mut bigram(&kaplan), &kaplan, &scratch("kaplan"));
    assert_eq!((r.steps, r.flops_used.kaplan), (34, 2_128 * 6 * 65 * 65));
}

#[test]
fn a_record_that_cannot_be_written_is_handed_back_in_the_error() {
    let c = config();
    let dir = scratch("unwritable");
    // A folder in the record's way, as a full disk or a broken mount would be.
    std::fs::create_dir_all(dir.join("results.jsonl")).unwrap();
    let err = train::run(&mut bigram(&c), &source(), shakespeare(), &c, &dir, &mut Silent).unwrap_err().to_string();
    assert!(err.contains("the run finished, but its folder could not be completed"), "{err}");
    let line = err.lines().last().unwrap();
    let record: RunRecord = serde_json::from_str(line).unwrap();
    assert_eq!(record.status, Status::Completed);
    // What was written before the failure stays: the weights, the curve.
    assert!(dir.join("model.safetensors").is_file() && dir.join("curve.jsonl").is_file());
}
