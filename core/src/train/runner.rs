//! The runner: train one model until a stopping rule ends it (the next step would pass the
//! budget, the epochs or steps are done, the time is up), evaluate, write the run folder.
//!
//! ```text
//! length (budget / step cost, epochs, steps) -> write model.model, run.ron
//!   -> steps (validation every eval_interval and after the last; keep the best weights)
//!   -> restore the selected weights -> test and train-subset NLL
//!   -> write model.safetensors, curve.jsonl, results.jsonl
//! ```
//!
//! A loss that is not finite, or Ctrl-C, ends the loop early; the run still returns a record
//! (status `diverged` or `interrupted`) with what was complete, and the folder is written.

use std::path::Path;
use std::time::{Duration, Instant};

use super::budget::{Budget, EpochShape, FlopsUsed};
use super::checkpoint::{self, CheckpointMeta};
use super::config::RunConfig;
use super::error::TrainError;
use super::eval::evaluate;
use super::fsio;
use super::interrupt;
use super::model::{NotFinite, Trainable, Weights};
use super::progress::{CheckpointEvent, EvalEvent, Observer, StartEvent, StepEvent};
use super::record::{self, CurvePoint, RunRecord, Status};
use super::resume;
use super::schedule::Schedule;
use super::stop::{Length, StopRule};
use crate::data::{DataError, Dataset, Sampler, Split};

/// The model as its author wrote it: saved as `model.model`, its includes beside it, so that the
/// run folder rebuilds it (with the overrides of `run.ron`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSource {
    /// The model's name in the source.
    pub name: String,
    /// The model file's text.
    pub text: String,
    /// Files it includes with `use`: `(path relative to the model file, text)`.
    pub includes: Vec<(String, String)>,
}

impl ModelSource {
    /// A model without includes.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> ModelSource {
        ModelSource { name: name.into(), text: text.into(), includes: Vec::new() }
    }

    /// SHA-256 (hex) of the text, then of each include's path and text (NUL-separated): the
    /// record's `source_sha256`. Without includes, simply the SHA-256 of the text.
    pub fn sha256(&self) -> String {
        let mut bytes = self.text.clone().into_bytes();
        for (path, text) in &self.includes {
            for part in ["\0", path, "\0", text] {
                bytes.extend_from_slice(part.as_bytes());
            }
        }
        crate::data::sha256_hex(&bytes)
    }

    /// Writes `model.model` and the includes into `dir`.
    fn write(&self, dir: &Path) -> Result<(), TrainError> {
        fsio::write_atomic(&dir.join(record::MODEL_FILE), self.text.as_bytes())?;
        for (path, text) in &self.includes {
            let relative = Path::new(path);
            // Only paths that stay inside the run folder.
            let inside = relative.components().all(|c| matches!(c, std::path::Component::Normal(_)));
            if !inside {
                return Err(TrainError::config(
                    format!("the include `{path}` is not a relative path inside the model's folder"),
                    "keep included files beside the model file or below it",
                ));
            }
            let target = dir.join(relative);
            if let Some(parent) = target.parent() {
                fsio::create_dir(parent)?;
            }
            fsio::write_atomic(&target, text.as_bytes())?;
        }
        Ok(())
    }
}

/// Trains `model` on `data` under `config`, writes the run folder `out` and returns its record.
/// Errors are settings, data or files that stop the run before it trains, or files it cannot
/// write; a diverged or interrupted run returns `Ok` with that status.
pub fn run(
    model: &mut dyn Trainable,
    source: &ModelSource,
    data: &Dataset,
    config: &RunConfig,
    out: &Path,
    observer: &mut dyn Observer,
) -> Result<RunRecord, TrainError> {
    let started = Instant::now();
    config.validate()?;
    config.check_dataset(data)?;
    let samplers = Samplers::new(data, config)?;
    let per_sample = model.flops_per_sample(config.objective);
    let budget = config.budget.map(|b| Budget::new(b, config.convention, per_sample)).transpose()?;
    let shape = EpochShape { batch_size: config.batch, windows: samplers.train.windows_per_epoch() };
    let length = config.stop.length(budget.as_ref(), shape)?;
    if length.steps.is_none() && config.schedule != Schedule::Constant {
        return Err(TrainError::config(
            "the schedule decays over the run's length, but only a time limit ends this run",
            "add a budget, epochs or steps beside the time limit, or use the constant schedule",
        ));
    }

    // The folder can rebuild the run before a single step is taken.
    fsio::create_dir(out)?;
    fsio::remove_leftovers(out);
    source.write(out)?;
    fsio::write_atomic(&out.join(record::CONFIG_FILE), config.to_ron()?.as_bytes())?;

    let resume_path = out.join(resume::RESUME_FILE);
    let source_sha256 = source.sha256();
    let config_sha256 = crate::data::sha256_hex(config.to_ron()?.as_bytes());
    // A checkpoint of this very run (model text and settings) is where training goes on.
    let resumed = match model.optimizer_state() {
        Some(_) if resume_path.is_file() => {
            let r = resume::load(&resume_path, &model.weights())?;
            (r.progress.source_sha256 == source_sha256 && r.progress.config_sha256 == config_sha256).then_some(r)
        }
        _ => None,
    };
    let mut t = Training {
        diverged_above: DIVERGENCE_FACTOR * (data.vocab_size().max(2) as f64).ln(),
        checkpoints: model.optimizer_state().is_some().then(|| Checkpoints {
            path: resume_path.clone(),
            source_sha256: source_sha256.clone(),
            config_sha256,
            last: Instant::now(),
            spent: Duration::ZERO,
            last_write: Duration::ZERO,
        }),
        ..Training::default()
    };
    match resumed {
        Some(r) => {
            t.resume(model, r, out, config.select_best)?;
            record::drop_unfinished_records(out)?;
        }
        None => t.log = record::CurveLog::create(out)?,
    }

    let params = model.weights().tensors.iter().map(|t| t.2.len() as u64).sum();
    let device = model.device_name();
    observer.start(&StartEvent {
        model: source.name.clone(),
        device: device.clone(),
        params,
        total_steps: length.steps,
        budget: budget.map(|b| b.limit),
        convention: config.convention,
        step_cost: u128::from(per_sample.get(config.convention)) * shape.rows(0) as u128,
        resumed_at: (t.steps > 0).then_some(t.steps),
    });
    let ending = t.train(model, &samplers, config, length, started, observer);
    let (status, message, stopped_by) = match ending {
        Ending::Failed(e) => return Err(e),
        Ending::Completed(rule) => (Status::Completed, None, Some(rule)),
        Ending::Diverged(m) => (Status::Diverged, Some(m), None),
        Ending::Interrupted => (Status::Interrupted, Some(format!("stopped by {}", interrupt::cause())), None),
    };

    let (selected_step, valid_nll) = select_weights(model, &t, status)?;

    let mut record = RunRecord {
        model: source.name.clone(),
        source_sha256: source.sha256(),
        corpus: data.corpus.clone(),
        split_set: data.split_set.clone(),
        tokenizer: data.tokenizer_name.clone(),
        vocab: data.vocab_size(),
        objective: config.objective.name().into(),
        convention: config.convention,
        budget: config.budget,
        stopped_by,
        stop: config.stop,
        flops_per_sample: FlopsUsed::of(1, &per_sample),
        flops_used: FlopsUsed::of(t.samples, &per_sample),
        steps: t.steps,
        samples: t.samples,
        tokens: t.samples * config.context as u64,
        params,
        context: config.context,
        batch: config.batch,
        train_nll: None,
        valid_nll,
        test_nll: None,
        perplexity: None,
        bits_per_token: None,
        average: config.average,
        selected_step,
        wall_seconds: 0.0,
        tokens_per_second: per_second(t.samples * config.context as u64, t.train_time),
        device,
        seed: config.seed,
        status,
        message,
    };

    if status == Status::Completed {
        final_evaluation(model, &samplers, config, &mut record);
    }

    record.wall_seconds = started.elapsed().as_secs_f64();
    // Weights, then curve, then record: a record means a complete folder. If a write fails (a
    // full disk), the error carries the record, so the result of the training is not lost.
    let saved = (|| {
        // The selected weights; a diverged run without a validation has none worth keeping.
        if selected_step.is_some() {
            let meta = CheckpointMeta {
                model: source.name.clone(),
                source_sha256: record.source_sha256.clone(),
                corpus: data.corpus.clone(),
                tokenizer: data.tokenizer_name.clone(),
                vocab: data.vocab_size(),
            };
            checkpoint::save(&out.join(record::CHECKPOINT_FILE), &model.weights(), &meta)?;
        }
        record::write_curve(out, &t.curve)?;
        record::append_record(out, &record)
    })();
    if let Err(e) = saved {
        return Err(TrainError::RecordNotSaved {
            record: serde_json::to_string(&record).unwrap_or_default(),
            source: Box::new(e),
        });
    }
    // A finished run needs no checkpoint; an interrupted one keeps it to go on from.
    if status != Status::Interrupted {
        let _ = std::fs::remove_file(&resume_path);
    }
    observer.end(&record);
    Ok(record)
}

/// Puts back the selected weights, the best validation's or the last step's, and returns the
/// selected step with its validation NLL (none for a diverged run: its weights are worth nothing).
fn select_weights(
    model: &mut dyn Trainable,
    t: &Training,
    status: Status,
) -> Result<(Option<u64>, Option<f64>), TrainError> {
    Ok(match &t.best {
        Some(Best { step, nll, weights: Some(weights) }) => {
            if *step != t.steps {
                model.load_weights(weights).map_err(TrainError::LoadWeights)?;
            }
            (Some(*step), Some(*nll))
        }
        _ if status == Status::Diverged => (None, None),
        // Otherwise the last step's weights, with their validation if it was evaluated.
        _ => (Some(t.steps), t.last_valid.filter(|v| v.0 == t.steps).map(|v| v.1)),
    })
}

/// Test and train NLL of a completed run, with the figures derived from them.
fn final_evaluation(model: &mut dyn Trainable, samplers: &Samplers, config: &RunConfig, record: &mut RunRecord) {
    if let Some(test) = &samplers.test {
        match evaluate(model, test, config.max_eval_batches) {
            Some(e) => record.test_nll = Some(e.nll(config.average)),
            None => interrupted(record),
        }
    }
    if record.status == Status::Completed {
        match evaluate(model, &samplers.train_eval, Some(config.train_eval_batches)) {
            Some(e) => record.train_nll = Some(e.nll(config.average)),
            None => interrupted(record),
        }
    }
    (record.perplexity, record.bits_per_token) = RunRecord::derived(record.test_nll);
}

fn interrupted(record: &mut RunRecord) {
    record.status = Status::Interrupted;
    record.message = Some(format!("stopped by {} during the final evaluation", interrupt::cause()));
}

/// The samplers of one run: training, and the evaluation windows of every split.
struct Samplers<'a> {
    train: Sampler<'a>,
    valid: Sampler<'a>,
    test: Option<Sampler<'a>>,
    /// The evaluation windows of the train split, for the train NLL.
    train_eval: Sampler<'a>,
}

impl<'a> Samplers<'a> {
    fn new(data: &'a Dataset, config: &RunConfig) -> Result<Samplers<'a>, TrainError> {
        let eval = config.eval_sampler();
        let sampler = |tokens, config, split| Sampler::new(tokens, config).map_err(|e: DataError| e.in_split(split));
        Ok(Samplers {
            train: sampler(&data.train, config.train_sampler(), Split::Train)?,
            valid: sampler(&data.valid, eval, Split::Valid)?,
            test: data.test.as_ref().map(|t| sampler(t, eval, Split::Test)).transpose()?,
            train_eval: sampler(&data.train, eval, Split::Train)?,
        })
    }
}

/// How the training loop ended.
enum Ending {
    /// Stopped by this rule, as planned.
    Completed(StopRule),
    /// A checkpoint could not be written (a full disk): the run stops with that error.
    Failed(TrainError),
    Diverged(String),
    Interrupted,
}

/// Steps between appends to `curve.jsonl` (it is also appended at every validation).
const CURVE_FLUSH_STEPS: u64 = 50;

/// A validation NLL above this many times a uniform guess's (`ln vocab`) means the run diverged:
/// no healthy run is three times worse than guessing, and a blown-up one is far worse still.
pub const DIVERGENCE_FACTOR: f64 = 3.0;

/// The best validation so far, and its weights (in host memory) when selection is on.
struct Best {
    step: u64,
    nll: f64,
    weights: Option<Weights>,
}

/// What the loop has done so far.
#[derive(Default)]
struct Training {
    steps: u64,
    samples: u64,
    /// Time inside `train_step` only, for tokens per second.
    train_time: Duration,
    curve: Vec<CurvePoint>,
    best: Option<Best>,
    /// The last validation: `(step, nll)`.
    last_valid: Option<(u64, f64)>,
    /// A validation NLL above this ends the run as diverged.
    diverged_above: f64,
    /// `curve.jsonl` while training.
    log: record::CurveLog,
    /// The sampler's place: the epoch, and the batches of it already trained on.
    epoch: u64,
    batch_in_epoch: u64,
    /// Where and for what the checkpoints go; `None`: the model cannot resume.
    checkpoints: Option<Checkpoints>,
}

/// Checkpoints of one run: the file, what it belongs to, when the last was written.
struct Checkpoints {
    path: std::path::PathBuf,
    source_sha256: String,
    config_sha256: String,
    last: Instant,
    /// Time spent writing checkpoints, and the last write's.
    spent: Duration,
    last_write: Duration,
}

/// The most of the training time that checkpoints at validations may take. A model whose
/// checkpoint is large beside its steps (a big embedding, frequent validations) skips some
/// validations' checkpoints to stay under it; the interval's and a stop's are always written.
const CHECKPOINT_SHARE: f64 = 0.02;

impl Checkpoints {
    /// Whether a checkpoint at a validation fits in the share of `train_time`.
    fn affordable(&self, train_time: Duration) -> bool {
        (self.spent + self.last_write).as_secs_f64() <= CHECKPOINT_SHARE * train_time.as_secs_f64()
    }
}

impl Training {
    fn train(
        &mut self,
        model: &mut dyn Trainable,
        samplers: &Samplers,
        config: &RunConfig,
        length: Length,
        started: Instant,
        observer: &mut dyn Observer,
    ) -> Ending {
        let per_sample = u128::from(model.flops_per_sample(config.objective).get(config.convention));
        let spent = |samples: u64| u128::from(samples) * per_sample;
        let time_limit = config.stop.time_limit();
        let due = |steps: u64| steps.is_multiple_of(config.eval_interval) || Some(steps) == length.steps;
        // A run stopped during a validation takes it before going on, as it would have.
        if self.steps > 0 && due(self.steps) && self.last_valid.is_none_or(|(step, _)| step != self.steps) {
            if let Err(ending) = self.validate(model, samplers, config, observer) {
                return ending;
            }
            self.log.append(&self.curve);
        }
        let first = self.epoch;
        for epoch in first.. {
            let done = if epoch == first { self.batch_in_epoch as usize } else { 0 };
            for (i, batch) in samplers.train.epoch(epoch).enumerate().skip(done) {
                if let (Some(steps), Some(rule)) = (length.steps, length.rule)
                    && self.steps == steps
                {
                    return Ending::Completed(rule);
                }
                if interrupt::requested() {
                    return match self.checkpoint(model, observer) {
                        Ok(()) => Ending::Interrupted,
                        Err(e) => Ending::Failed(e),
                    };
                }
                if self.steps > 0 && time_limit.is_some_and(|limit| started.elapsed() >= limit) {
                    // The weights the run ends with are validated like any others.
                    if self.last_valid.is_none_or(|(step, _)| step != self.steps)
                        && let Err(ending) = self.validate(model, samplers, config, observer)
                    {
                        return ending;
                    }
                    return Ending::Completed(StopRule::MaxTime);
                }
                // Without a known length the schedule is constant (checked before training).
                let lr = config.schedule.lr(config.optimizer.lr, self.steps, length.steps.unwrap_or(u64::MAX));
                let t0 = Instant::now();
                let loss = model.train_step(&batch, lr);
                self.train_time += t0.elapsed();
                self.steps += 1;
                self.samples += batch.batch as u64;
                (self.epoch, self.batch_in_epoch) = (epoch, i as u64 + 1);
                let finite = loss.is_finite();
                self.curve.push(CurvePoint {
                    step: self.steps,
                    flops: spent(self.samples),
                    lr,
                    train_loss: finite.then_some(f64::from(loss)),
                    valid_nll: None,
                });
                if !finite {
                    let e = NotFinite { step: self.steps, loss };
                    return Ending::Diverged(e.to_string());
                }
                observer.step(&StepEvent {
                    step: self.steps,
                    total_steps: length.steps,
                    flops: spent(self.samples),
                    loss,
                    lr,
                    tokens_per_second: per_second(self.samples * config.context as u64, self.train_time),
                    elapsed: started.elapsed(),
                });
                let due = due(self.steps);
                if due && !interrupt::requested() {
                    match self.validate(model, samplers, config, observer) {
                        Ok(()) => {}
                        Err(Ending::Interrupted) => {
                            return match self.checkpoint(model, observer) {
                                Ok(()) => Ending::Interrupted,
                                Err(e) => Ending::Failed(e),
                            };
                        }
                        Err(ending) => return ending,
                    }
                }
                // Watchers and reports see the curve as it grows.
                if due || self.steps.is_multiple_of(CURVE_FLUSH_STEPS) {
                    self.log.append(&self.curve);
                }
                let interval = self.checkpoints.as_ref().is_some_and(|c| c.last.elapsed() >= resume::interval());
                let affordable = self.checkpoints.as_ref().is_some_and(|c| c.affordable(self.train_time));
                if ((due && affordable) || interval)
                    && let Err(e) = self.checkpoint(model, observer)
                {
                    return Ending::Failed(e);
                }
            }
        }
        // `0..` does not end; every path returns from inside the loop.
        Ending::Interrupted
    }

    /// Writes the checkpoint (and the curve up to it), if the model can resume.
    fn checkpoint(&mut self, model: &dyn Trainable, observer: &mut dyn Observer) -> Result<(), TrainError> {
        let started = Instant::now();
        let Some(c) = &mut self.checkpoints else { return Ok(()) };
        let Some(optimizer) = model.optimizer_state() else { return Ok(()) };
        self.log.append(&self.curve);
        let progress = resume::Progress {
            source_sha256: c.source_sha256.clone(),
            config_sha256: c.config_sha256.clone(),
            steps: self.steps,
            samples: self.samples,
            epoch: self.epoch,
            batch_in_epoch: self.batch_in_epoch,
            train_seconds: self.train_time.as_secs_f64(),
            adam_step: optimizer.step,
            random_draws: optimizer.random_draws,
            best: self.best.as_ref().map(|b| (b.step, b.nll)),
            last_valid: self.last_valid,
        };
        // The best weights are the current ones when the last validation was the best: not twice.
        let best = self.best.as_ref().filter(|b| b.step != self.steps).and_then(|b| b.weights.as_ref());
        resume::save(&c.path, &progress, &model.weights(), &optimizer, best)?;
        c.last = Instant::now();
        c.last_write = started.elapsed();
        c.spent += c.last_write;
        let bytes = std::fs::metadata(&c.path).map(|m| m.len()).unwrap_or(0);
        observer.checkpoint(&CheckpointEvent { step: self.steps, bytes, seconds: started.elapsed().as_secs_f64() });
        Ok(())
    }

    /// Puts a run back where its checkpoint left it: model state, counters, best validation,
    /// curve and the sampler's place.
    fn resume(
        &mut self,
        model: &mut dyn Trainable,
        r: resume::Resume,
        out: &Path,
        select_best: bool,
    ) -> Result<(), TrainError> {
        model.load_weights(&r.weights).map_err(TrainError::LoadWeights)?;
        model.load_optimizer_state(&r.optimizer).map_err(TrainError::LoadWeights)?;
        let p = r.progress;
        (self.steps, self.samples, self.epoch, self.batch_in_epoch) = (p.steps, p.samples, p.epoch, p.batch_in_epoch);
        self.train_time = Duration::from_secs_f64(p.train_seconds);
        self.last_valid = p.last_valid;
        let kept = |step: u64| match r.best_weights {
            Some(w) => Some(w),
            // Saved once, as the current weights.
            None if select_best && step == p.steps => Some(r.weights.clone()),
            None => None,
        };
        self.best = p.best.map(|(step, nll)| Best { step, nll, weights: kept(step) });
        let mut curve: Vec<CurvePoint> = record::read_jsonl(&out.join(record::CURVE_FILE), "a loss-curve point")?;
        curve.truncate(p.steps as usize);
        if curve.len() as u64 != p.steps {
            return Err(TrainError::config(
                format!("`curve.jsonl` holds {} steps but the checkpoint is at step {}", curve.len(), p.steps),
                "delete `resume.safetensors` to train the run again from its start",
            ));
        }
        self.log = record::CurveLog::resume(out, &curve)?;
        self.curve = curve;
        Ok(())
    }

    /// Evaluates validation after the current step and keeps the weights if they are the best.
    fn validate(
        &mut self,
        model: &mut dyn Trainable,
        samplers: &Samplers,
        config: &RunConfig,
        observer: &mut dyn Observer,
    ) -> Result<(), Ending> {
        let Some(e) = evaluate(model, &samplers.valid, config.max_eval_batches) else {
            return Err(Ending::Interrupted);
        };
        let nll = e.nll(config.average);
        if !nll.is_finite() {
            return Err(Ending::Diverged(format!("the validation nll is {nll} at step {}", self.steps)));
        }
        if nll > self.diverged_above {
            return Err(Ending::Diverged(format!(
                "the validation nll is {nll:.4} at step {}, more than {DIVERGENCE_FACTOR} times a uniform guess's ({:.4})",
                self.steps, self.diverged_above
            )));
        }
        if let Some(point) = self.curve.last_mut() {
            point.valid_nll = Some(nll);
        }
        self.last_valid = Some((self.steps, nll));
        let best = self.best.as_ref().is_none_or(|b| nll < b.nll);
        if best {
            let weights = config.select_best.then(|| model.weights());
            self.best = Some(Best { step: self.steps, nll, weights });
        }
        observer.eval(&EvalEvent { step: self.steps, nll, best });
        Ok(())
    }
}

fn per_second(tokens: u64, time: Duration) -> f64 {
    let s = time.as_secs_f64();
    if s > 0.0 { tokens as f64 / s } else { 0.0 }
}
