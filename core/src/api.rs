//! The library API: what `tinyarch run`, `eval` and `sample` do, for Rust programs. The command
//! line, the sweep runner and embedded models are thin layers over it.
//!
//! ```no_run
//! use tinyarch_core::api::{self, ModelSpec};
//! use tinyarch_core::backend::DeviceKind;
//! use tinyarch_core::data::{self, Locator};
//! use tinyarch_core::train::{RunConfig, Silent};
//!
//! let dataset = data::load("tiny-shakespeare", &Locator::from_env(None), None, None)?;
//! let spec = ModelSpec::file("models/study/transformer.model").set("layers=2");
//! let config = RunConfig::new(&dataset.corpus, 2e11, 128);
//! let record = api::train(&spec, &dataset, &config, DeviceKind::Cpu, "runs/example".as_ref(), &mut Silent)?;
//! println!("test NLL {:?}", record.test_nll);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::backend::{self, BuildConfig, BuildError, DeviceKind};
use crate::data::{DataError, Dataset};
use crate::ir::{self, Limits};
use crate::lang::{self, Options};
use crate::train::{self, ModelSource, Observer, RunConfig, RunRecord, TrainError, Trainable};
use crate::units::{human, thousands};
use crate::{Checked, Diagnostics, Registry};

/// Everything that can stop the API before or while it trains.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model does not check; render the diagnostics to show where.
    #[error("{0}")]
    Model(Diagnostics),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("`{model}` predicts one token per window, so it trains only with the `last` objective")]
    ObjectiveMismatch { model: String },
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the include `{include}` lies outside the model's folder; a run folder could not rebuild it")]
    IncludeOutside { include: PathBuf },
    #[error(
        "the run was trained on `{corpus}` ({tokenizer}, vocabulary {}), which does not match the requested data's vocabulary {}",
        thousands(*.saved as u64), thousands(*.requested as u64)
    )]
    VocabMismatch { corpus: String, tokenizer: String, saved: usize, requested: usize },
}

impl From<Diagnostics> for Error {
    fn from(d: Diagnostics) -> Error {
        Error::Model(d)
    }
}

/// A model to check and train: a file or inline text, with parameter overrides (`layers=4`).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSpec {
    origin: Origin,
    overrides: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
enum Origin {
    File(PathBuf),
    Inline { name: String, text: String },
}

impl ModelSpec {
    /// A `.model` file; its `use` includes are read relative to it.
    pub fn file(path: impl Into<PathBuf>) -> ModelSpec {
        ModelSpec { origin: Origin::File(path.into()), overrides: Vec::new() }
    }

    /// A model given as text; `name` labels it in diagnostics. Inline models cannot include files.
    pub fn inline(name: impl Into<String>, text: impl Into<String>) -> ModelSpec {
        ModelSpec { origin: Origin::Inline { name: name.into(), text: text.into() }, overrides: Vec::new() }
    }

    /// Overrides a model parameter, as `--set NAME=VALUE` does.
    pub fn set(mut self, assignment: impl Into<String>) -> ModelSpec {
        self.overrides.push(assignment.into());
        self
    }

    /// Overrides several parameters.
    pub fn with_overrides(mut self, assignments: impl IntoIterator<Item = String>) -> ModelSpec {
        self.overrides.extend(assignments);
        self
    }

    pub fn overrides(&self) -> &[String] {
        &self.overrides
    }

    /// The file, for a file model.
    pub fn path(&self) -> Option<&Path> {
        match &self.origin {
            Origin::File(p) => Some(p),
            Origin::Inline { .. } => None,
        }
    }

    /// Parses, resolves and checks the model for `vocab` tokens and batches of `batch` rows.
    pub fn check(&self, vocab: usize, batch: usize) -> Result<Checked, Diagnostics> {
        let options = Options { vocab: Some(vocab as u64), overrides: self.overrides.clone() };
        let registry = Registry::default();
        let graph = match &self.origin {
            Origin::File(path) => lang::resolve_file(path, &registry, &options)?,
            Origin::Inline { name, text } => lang::resolve_source(name, text, None, &registry, &options)?,
        };
        ir::check(graph, &Limits { batch: batch as u64, ..Limits::default() })
    }

    /// The model's text and the files it includes, as the checker read them: what a run folder
    /// saves so that it can rebuild the model.
    pub fn source(&self, checked: &Checked) -> Result<ModelSource, Error> {
        let (path, text) = match &self.origin {
            Origin::Inline { text, .. } => return Ok(ModelSource::new(checked.graph.name.clone(), text.clone())),
            Origin::File(path) => {
                (path, std::fs::read_to_string(path).map_err(|e| Error::Read { path: path.clone(), source: e })?)
            }
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut includes = Vec::new();
        let sources = &checked.graph.sources;
        // Source 0 is the model itself; the others are includes, or command-line overrides,
        // which are not files and are saved in `run.ron` instead.
        for id in 1..sources.len() {
            let include = Path::new(sources.name(id));
            if !include.is_file() {
                continue;
            }
            let relative =
                include.strip_prefix(dir).map_err(|_| Error::IncludeOutside { include: include.to_path_buf() })?;
            includes.push((relative.to_string_lossy().into_owned(), sources.text(id).to_string()));
        }
        Ok(ModelSource { name: checked.graph.name.clone(), text, includes })
    }
}

/// Builds a checked model on `device` with the run's seed and optimizer.
pub fn build(checked: Checked, config: &RunConfig, device: DeviceKind) -> Result<Box<dyn Trainable>, Error> {
    let build = BuildConfig { device, seed: config.seed, optimizer: config.optimizer, ..BuildConfig::cpu(config.seed) };
    Ok(backend::build(Arc::new(checked), &build)?)
}

/// The folder name a run gets under `<out>/<corpus>/`: `<model>-<budget>-<convention>-s<seed>`,
/// with the other stopping rules before the seed (`gpt-e3-s1`, `gpt-1e12-exact-steps500-s1`).
pub fn run_name(model: &str, config: &RunConfig) -> String {
    let budget = config.budget.map(|b| format!("{}-{}", human(b as u64), config.convention));
    let stop = Some(config.stop.label()).filter(|s| !s.is_empty());
    let limits: Vec<String> = budget.into_iter().chain(stop).collect();
    format!("{model}-{}-s{}", limits.join("-"), config.seed)
}

/// Checks `spec` against `dataset`, builds it on `device` and trains it under `config` into the
/// run folder `out`. A diverged or interrupted run returns `Ok` with that status.
pub fn train(
    spec: &ModelSpec,
    dataset: &Dataset,
    config: &RunConfig,
    device: DeviceKind,
    out: &Path,
    observer: &mut dyn Observer,
) -> Result<RunRecord, Error> {
    let checked = spec.check(dataset.vocab_size(), config.batch)?;
    let source = spec.source(&checked)?;
    if !checked.fits(config.objective) {
        return Err(Error::ObjectiveMismatch { model: checked.graph.name.clone() });
    }
    let mut model = build(checked, config, device)?;
    Ok(train::run(model.as_mut(), &source, dataset, config, out, observer)?)
}

/// Reads a run's settings (`run.ron`, or any file in that form).
pub fn read_config(path: &Path) -> Result<RunConfig, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::Io {
        action: "read",
        path: path.to_path_buf(),
        source: e,
    })?;
    RunConfig::from_ron(&text, &format!("`{}`", path.display()))
}

/// A run folder rebuilt: its settings and its model with the saved weights.
pub struct Restored {
    pub config: RunConfig,
    /// Tokens per window.
    pub context: usize,
    pub model: Box<dyn Trainable>,
}

/// Rebuilds the run folder `dir` on `device` for data with `vocab` tokens.
pub fn restore(dir: &Path, vocab: usize, device: DeviceKind) -> Result<Restored, Error> {
    let config = read_config(&dir.join(train::CONFIG_FILE))?;
    // A vocabulary that differs would fail on shapes; say why instead.
    let saved = train::load_checkpoint(&dir.join(train::CHECKPOINT_FILE))?.meta;
    if saved.vocab != vocab {
        return Err(Error::VocabMismatch {
            corpus: saved.corpus,
            tokenizer: saved.tokenizer,
            saved: saved.vocab,
            requested: vocab,
        });
    }
    let spec = ModelSpec::file(dir.join(train::MODEL_FILE)).with_overrides(config.overrides.clone());
    let checked = spec.check(vocab, config.batch)?;
    let context = checked.graph.context.size as usize;
    let mut model = build(checked, &config, device)?;
    train::load_into(model.as_mut(), &dir.join(train::CHECKPOINT_FILE))?;
    Ok(Restored { config, context, model })
}
