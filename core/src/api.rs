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
use crate::units::{human_f64, thousands};
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
    #[error(
        "the folder `{dir}` holds a run of another model or other settings\nhelp: run into another `--out` folder, or delete that folder"
    )]
    OtherRun { dir: PathBuf },
    #[error(
        "the model files in `{dir}` are not those its weights were trained with (their SHA-256 differs from the checkpoint's)\nhelp: restore the folder's `model.model` and includes, or train the model again"
    )]
    SourceChanged { dir: PathBuf },
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
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            // A bare file name: its includes are named `./x.model`.
            _ => Path::new("."),
        };
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
            // `./a/../b.model` and `./b.model` are the same file inside the run folder.
            let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
            for c in relative.components() {
                match c {
                    std::path::Component::Normal(n) => parts.push(n),
                    std::path::Component::CurDir => {}
                    std::path::Component::ParentDir if parts.pop().is_some() => {}
                    _ => return Err(Error::IncludeOutside { include: include.to_path_buf() }),
                }
            }
            let relative: PathBuf = parts.iter().collect();
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

/// The folder name a run gets under `<out>/<corpus>/`: `<model>-<limits>-s<seed>-<identity>`,
/// the limits being the budget and convention and the other stopping rules
/// (`gpt-1.00e12-exact-s1-3fa2b9c1`, `gpt-e3-steps500-s1-0b7c1d2e`), the identity the start of
/// [`run_identity`]. Two runs share a folder only if everything that determines their results
/// is the same.
pub fn run_name(model: &str, config: &RunConfig, identity: &str) -> String {
    let budget = config.budget.map(|b| format!("{}-{}", human_f64(b), config.convention));
    let stop = Some(config.stop.label()).filter(|s| !s.is_empty());
    let limits: Vec<String> = budget.into_iter().chain(stop).collect();
    format!("{model}-{}-s{}-{}", limits.join("-"), config.seed, &identity[..8.min(identity.len())])
}

/// SHA-256 (hex) over everything that determines a run's result: the model source with its
/// includes, the settings (`run.ron`, overrides and seed included), the data (corpus checksums,
/// split set, tokenizer) and the kind of device.
pub fn run_identity(
    source: &ModelSource,
    config: &RunConfig,
    dataset: &Dataset,
    device: DeviceKind,
) -> Result<String, Error> {
    let device = match device {
        DeviceKind::Cpu => "cpu",
        DeviceKind::Cuda(_) => "cuda",
    };
    let text = format!("{}\n{}\n{}\n{device}\n", source.sha256(), config.to_ron()?, dataset.fingerprint);
    Ok(crate::data::sha256_hex(text.as_bytes()))
}

/// What a run folder holds already.
#[derive(Clone, Debug, PartialEq)]
pub enum Previous {
    /// Nothing: a new run.
    Nothing,
    /// A finished run (completed or diverged) with the same model and settings: its record.
    Finished(Box<RunRecord>),
    /// A run with the same model and settings that did not finish (interrupted, or killed).
    Unfinished,
}

/// Reads what `dir` holds, for a run of `source` under `config`. An error if it holds a run of
/// another model or other settings: one folder never mixes two runs.
pub fn previous_run(dir: &Path, source: &ModelSource, config: &RunConfig) -> Result<Previous, Error> {
    let settings = dir.join(train::CONFIG_FILE);
    if !settings.is_file() {
        return Ok(if dir.join(train::RESULTS_FILE).exists() { Previous::Unfinished } else { Previous::Nothing });
    }
    let saved = read_config(&settings)?;
    let saved_source = std::fs::read_to_string(dir.join(train::MODEL_FILE)).ok();
    if saved != *config || saved_source.as_deref() != Some(source.text.as_str()) {
        return Err(Error::OtherRun { dir: dir.to_path_buf() });
    }
    let results = dir.join(train::RESULTS_FILE);
    let records = if results.is_file() { RunRecord::read_all(&results)? } else { Vec::new() };
    Ok(match records.into_iter().last() {
        Some(r) if r.status != train::Status::Interrupted && r.source_sha256 == source.sha256() => {
            Previous::Finished(Box::new(r))
        }
        _ => Previous::Unfinished,
    })
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
    // The weights belong to the model text they were saved with, includes and all.
    let source = spec.source(&checked)?;
    if source.sha256() != saved.source_sha256 {
        return Err(Error::SourceChanged { dir: dir.to_path_buf() });
    }
    let context = checked.graph.context.size as usize;
    let mut model = build(checked, &config, device)?;
    train::load_into(model.as_mut(), &dir.join(train::CHECKPOINT_FILE))?;
    Ok(Restored { config, context, model })
}
