//! Running an experiment's cells, each into its own folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Cell, Experiment, ExperimentError, Length, Shard};
use crate::api::{self, ModelSpec};
use crate::backend::DeviceKind;
use crate::data::{self, Dataset, Locator, Objective, Sampler};
use crate::ir::Convention;
use crate::train::{self, EpochShape, Observer, RunConfig, RunRecord, Status};

/// The experiment file as the sweep read it, kept beside its cells for `tinyarch report`.
pub const EXPERIMENT_FILE: &str = "experiment.ron";

/// What happened to one cell.
#[derive(Clone, Debug)]
pub enum CellOutcome {
    /// Finished by an earlier sweep: its record is reused.
    Finished(RunRecord),
    /// Trained now (completed, diverged or interrupted: see the record's status).
    Ran(RunRecord),
    /// Not run: the model cannot train under the cell's objective.
    Skipped(String),
    /// Not run: another process holds the cell's lock (it is training it).
    Busy(String),
}

/// The cells of one sweep, in order, with what happened to each.
#[derive(Debug, Default)]
pub struct SweepSummary {
    pub cells: Vec<(Cell, CellOutcome)>,
    /// Ctrl-C stopped the sweep; the cells after the interrupted one did not run.
    pub interrupted: bool,
}

/// A cell ready to run: its model and settings, checked.
struct Prepared {
    cell: Cell,
    spec: ModelSpec,
    source: train::ModelSource,
    config: RunConfig,
    dir: PathBuf,
    finished: Option<RunRecord>,
}

/// Runs the cells of `shard` into `out/<corpus>/<cell name>/`, with data from `locator`. Every cell is checked first (models,
/// settings, budgets), so a mistake anywhere stops the sweep before any training. A cell whose
/// folder holds a finished run with the same settings is skipped; an interrupted or partial
/// one is redone from the start.
#[allow(clippy::too_many_arguments)]
pub fn sweep(
    experiment: &Experiment,
    experiment_text: &str,
    base: &Path,
    locator: &Locator,
    shard: Shard,
    out: &Path,
    device: DeviceKind,
    observer: &mut dyn FnMut(&Cell, usize, usize) -> Box<dyn Observer>,
) -> Result<SweepSummary, ExperimentError> {
    let cells = super::expand(experiment, base)?;
    let mut summary = SweepSummary::default();
    let mut ready = Vec::new();
    let mut datasets: BTreeMap<String, Dataset> = BTreeMap::new();
    for (i, cell) in cells.into_iter().enumerate() {
        if !shard.contains(i) {
            continue;
        }
        if !datasets.contains_key(&cell.corpus) {
            let split_set = experiment.split_set.as_deref();
            let loaded = data::load(&cell.corpus, locator, split_set, experiment.tokenizer.as_deref())
                .map_err(|e| ExperimentError::Cell { cell: cell.name(), source: Box::new(e.into()) })?;
            datasets.insert(cell.corpus.clone(), loaded);
        }
        match prepare(experiment, &cell, &datasets[&cell.corpus], out)? {
            Some(p) => ready.push(p),
            None => {
                let why = "one token per window: trains only with the `last` objective".to_string();
                summary.cells.push((cell, CellOutcome::Skipped(why)));
            }
        }
    }
    std::fs::create_dir_all(out).map_err(|e| train::TrainError::io("create", out, e))?;
    train::write_atomic(&out.join(EXPERIMENT_FILE), experiment_text.as_bytes())?;
    let to_train = ready.iter().filter(|p| p.finished.is_none()).count();
    let mut trained = 0;
    for p in ready {
        if let Some(record) = p.finished {
            summary.cells.push((p.cell, CellOutcome::Finished(record)));
            continue;
        }
        // Another sweep of the same file into the same folder may be training this cell.
        let _lock = match train::RunLock::acquire(&p.dir)? {
            Ok(lock) => lock,
            Err(held) => {
                let who = held.pid.map_or("another process".to_string(), |pid| format!("process {pid}"));
                summary.cells.push((p.cell, CellOutcome::Busy(format!("{who} is training it"))));
                continue;
            }
        };
        // It may have finished while this sweep was checking the others.
        if let Ok(api::Previous::Finished(record)) = api::previous_run(&p.dir, &p.source, &p.config) {
            summary.cells.push((p.cell, CellOutcome::Finished(*record)));
            continue;
        }
        // An interrupted cell with a checkpoint goes on from it; anything else starts clean.
        if p.dir.exists() && !p.dir.join(train::RESUME_FILE).is_file() {
            std::fs::remove_dir_all(&p.dir).map_err(|e| train::TrainError::io("clear", &p.dir, e))?;
        }
        trained += 1;
        let mut observe = observer(&p.cell, trained, to_train);
        let record = api::train(&p.spec, &datasets[&p.cell.corpus], &p.config, device, &p.dir, observe.as_mut())
            .map_err(|e| ExperimentError::Cell { cell: p.cell.name(), source: Box::new(e) })?;
        let stop = record.status == Status::Interrupted;
        summary.cells.push((p.cell, CellOutcome::Ran(record)));
        if stop {
            summary.interrupted = true;
            break;
        }
    }
    Ok(summary)
}

/// Checks a cell and works out its settings; `None` if its objective does not fit the model.
fn prepare(
    experiment: &Experiment,
    cell: &Cell,
    dataset: &Dataset,
    out: &Path,
) -> Result<Option<Prepared>, ExperimentError> {
    let wrap = |e: api::Error| ExperimentError::Cell { cell: cell.name(), source: Box::new(e) };
    let spec = ModelSpec::file(&cell.file).with_overrides(cell.overrides.clone());
    let batch = experiment.settings.batch.unwrap_or(crate::ir::DEFAULT_BATCH as usize);
    let checked = spec.check(dataset.vocab_size(), batch).map_err(|d| wrap(d.into()))?;
    if !checked.fits(cell.objective) {
        return Ok(None);
    }
    let config = cell_config(experiment, cell, dataset, &checked).map_err(|e| wrap(e.into()))?;
    // A budget too small for one step is an error now, not after other cells trained.
    let per_sample = checked.plan(config.objective).training;
    let windows = Sampler::new(&dataset.train, config.train_sampler()).map_err(|e| wrap(e.into()))?.windows_per_epoch();
    let budget = config.budget.map(|b| train::Budget::new(b, config.convention, per_sample)).transpose();
    let budget = budget.map_err(|e| wrap(e.into()))?;
    let shape = EpochShape { batch_size: config.batch, windows };
    config.stop.length(budget.as_ref(), shape).map_err(|e| wrap(e.into()))?;
    let dir = out.join(&cell.corpus).join(cell.name());
    // The model's files as a run folder keeps them: an include it cannot keep fails here, not
    // after other cells trained.
    let source = spec.source(&checked).map_err(wrap)?;
    let finished = match api::previous_run(&dir, &source, &config) {
        Ok(api::Previous::Finished(record)) => Some(*record),
        Ok(api::Previous::Nothing | api::Previous::Unfinished) => None,
        Err(api::Error::OtherRun { .. }) => {
            return Err(ExperimentError::Changed { cell: cell.name(), dir: dir.to_path_buf() });
        }
        Err(e) => return Err(wrap(e)),
    };
    Ok(Some(Prepared { cell: cell.clone(), spec, source, config, dir, finished }))
}

/// The run settings of a cell: the experiment's settings over `tinyarch run`'s defaults.
fn cell_config(
    experiment: &Experiment,
    cell: &Cell,
    dataset: &Dataset,
    checked: &crate::Checked,
) -> Result<RunConfig, train::TrainError> {
    let s = &experiment.settings;
    let context = checked.graph.context.size as usize;
    let mut c = RunConfig::new(&dataset.corpus, 0.0, context);
    c.budget = None; // set by the cell's length below
    c.split_set = Some(dataset.split_set.clone());
    c.tokenizer = Some(dataset.tokenizer_name.clone());
    c.overrides = cell.overrides.clone();
    c.objective = cell.objective;
    c.seed = cell.seed;
    (c.train, c.eval) = RunConfig::default_protocols(cell.objective, !dataset.tokenizer.is_words());
    // The settings' protocols are the last-token objective's; `all` has only the standard ones.
    if cell.objective == Objective::Last {
        c.train = s.train.unwrap_or(c.train);
        c.eval = s.eval.unwrap_or(c.eval);
    }
    c.batch = s.batch.unwrap_or(c.batch);
    c.optimizer = s.optimizer.unwrap_or(c.optimizer);
    c.schedule = s.schedule.unwrap_or(c.schedule);
    c.max_eval_batches = s.max_eval_batches.or(c.max_eval_batches);
    c.train_eval_batches = s.train_eval_batches.unwrap_or(c.train_eval_batches);
    c.average = s.average.unwrap_or(c.average);
    c.select_best = s.select_best.unwrap_or(c.select_best);
    c.eval_interval = s.eval_interval.unwrap_or(c.eval_interval);
    match cell.length {
        Length::Budget { flops, convention } => {
            c.budget = Some(flops);
            c.convention = convention;
        }
        Length::Epochs(epochs) => {
            // The study's count: 2 x parameters x tokens, over whole epochs of windows.
            c.validate()?;
            let sampler = Sampler::new(&dataset.train, c.train_sampler())?;
            let per_sample = checked.plan(c.objective).training.paper;
            c.budget = Some(per_sample as f64 * sampler.windows_per_epoch() as f64 * epochs as f64);
            c.convention = Convention::Paper;
            if s.eval_interval.is_none() {
                c.eval_interval = sampler.batches_per_epoch() as u64;
            }
        }
    }
    c.validate()?;
    Ok(c)
}
