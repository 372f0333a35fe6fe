//! Models embedded in Rust: checked when the program compiles, with their vocabulary and
//! context in their type, and trained through [`tinyarch_core::api`].
//!
//! [`model!`](crate::model) (inline) and [`include_model!`](crate::include_model) (a file) run
//! tinyarch's checker inside the compiler and expand to an [`Embedded<VOCAB, CONTEXT>`]. The
//! rest is typed by the same two numbers: [`Data<VOCAB>`] (a built-in [`Corpus`] has its
//! vocabulary in its type), [`Model<VOCAB, CONTEXT>`] (built on a device) and [`Run`] (a run
//! folder). Training a model on a corpus of another vocabulary does not compile.
//!
//! ```text
//! model! / include_model!  ->  Embedded<V, C>  --set-->  Embedded<V, C> (checked again)
//!   --train(&Data<V>, RunConfig)--> Run<V, C> (run folder)  --restore-->  Model<V, C>
//!   --build(RunConfig)--> Model<V, C>  --evaluate / logits / sample / save / load
//! ```
//!
//! A whole session, on Tiny Shakespeare (`$TINYARCH_DATA` says where the corpora are):
//!
//! ```
//! use tinyarch::backend::DeviceKind;
//! use tinyarch::data::{Locator, Split};
//! use tinyarch::embed::TINY_SHAKESPEARE;
//! use tinyarch::train::{SampleConfig, Silent};
//!
//! let model = tinyarch::model! {
//!     vocab = 65;
//!     model tiny(context = 16, d = 32) {
//!         embedding(dim = d)
//!         position_embedding()
//!         attention(heads = 2)
//!         layer_norm()
//!         head()
//!     }
//! };
//! let data = TINY_SHAKESPEARE.load(&Locator::from_env(None))?; // Data<65>
//! let mut config = model.run_config(&data, 2e9); // the study's settings, context 16
//! config.max_eval_batches = Some(4);
//! let out = std::env::temp_dir().join(format!("tinyarch-doc-{}", std::process::id()));
//! let run = model.train(&data, &config, DeviceKind::Cpu, &out, &mut Silent)?;
//! assert!(run.record.test_nll.is_some());
//!
//! let mut trained = run.restore(DeviceKind::Cpu)?; // the selected weights
//! let nll = trained.evaluate(&data, Split::Test)?;
//! assert!(nll < (65f64).ln()); // better than uniform
//! let settings = SampleConfig { tokens: 20, temperature: 0.8, top_k: None, seed: 1, pad: data.pad() };
//! let text = trained.sample(&data, "ROMEO:", &settings)?;
//! assert!(!text.is_empty());
//! # std::fs::remove_dir_all(&out)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// As in the engine: errors carry diagnostics, large but only built on the error path.
#![allow(clippy::result_large_err)]

mod data;
mod error;

pub use data::{Corpus, Data, PTB, PTB_EOS, TINY_SHAKESPEARE, WIKITEXT_2, WIKITEXT_2_EOS};
pub use error::Error;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use tinyarch_core::api::{self, ModelSpec};
use tinyarch_core::backend::DeviceKind;
use tinyarch_core::data::{Objective, Sampler, Split};
use tinyarch_core::ir::Limits;
use tinyarch_core::train::{self, CheckpointMeta, Observer, RunConfig, RunRecord, SampleConfig, Trainable};
use tinyarch_core::{Checked, Diagnostics};

/// A checked model whose vocabulary and context are in its type.
///
/// Made by [`model!`](crate::model) and [`include_model!`](crate::include_model), which check
/// it at compile time, or by [`Embedded::from_source`], which checks it at run time. It holds
/// the model's text (self-contained: included files are merged into it) and its overrides.
///
/// ```
/// use tinyarch::embed::Embedded;
///
/// // The file's context is overridden to 64, and the type says so.
/// const TRANSFORMER: Embedded<65, 64> =
///     tinyarch::include_model!("models/study/transformer.model", vocab = 65, context = 64);
/// let two_layers = TRANSFORMER.set("layers=2")?; // checked again, now
/// assert_eq!(two_layers.check()?.summary.params, 290_113);
/// // An override that would change the context is refused: it would change the type.
/// assert!(TRANSFORMER.set("context=32").is_err());
/// # Ok::<(), tinyarch::embed::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Embedded<const VOCAB: usize, const CONTEXT: usize> {
    name: Cow<'static, str>,
    /// Names the text in diagnostics: the file as written, or `model! at src/main.rs:12`.
    origin: Cow<'static, str>,
    text: Cow<'static, str>,
    /// Overrides the macro checked.
    fixed: &'static [&'static str],
    /// Overrides added at run time, checked when added.
    overrides: Vec<String>,
}

impl<const VOCAB: usize, const CONTEXT: usize> Embedded<VOCAB, CONTEXT> {
    /// What the macros expand to, after they checked the model with these exact inputs.
    #[doc(hidden)]
    pub const fn __checked(
        name: &'static str,
        origin: &'static str,
        text: &'static str,
        fixed: &'static [&'static str],
    ) -> Embedded<VOCAB, CONTEXT> {
        Embedded {
            name: Cow::Borrowed(name),
            origin: Cow::Borrowed(origin),
            text: Cow::Borrowed(text),
            fixed,
            overrides: Vec::new(),
        }
    }

    /// A model given as text at run time (no `use` includes), checked now: its diagnostics, or
    /// [`Error::Context`] when its context is not `CONTEXT`.
    ///
    /// ```
    /// use tinyarch::embed::{Embedded, Error};
    ///
    /// let text = "model m(context = 8, d = 16) { embedding(dim = d) flatten() head() }";
    /// let model = Embedded::<65, 8>::from_source("m.model", text)?;
    /// assert_eq!(model.name(), "m");
    /// let wrong = Embedded::<65, 16>::from_source("m.model", text);
    /// assert!(matches!(wrong, Err(Error::Context { expected: 16, found: 8, .. })));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn from_source(origin: impl Into<String>, text: impl Into<String>) -> Result<Embedded<VOCAB, CONTEXT>, Error> {
        let mut model = Embedded {
            name: Cow::Borrowed(""),
            origin: Cow::Owned(origin.into()),
            text: Cow::Owned(text.into()),
            fixed: &[],
            overrides: Vec::new(),
        };
        let checked = model.check_context()?;
        model.name = Cow::Owned(checked.graph.name.clone());
        Ok(model)
    }

    /// The model's name in its source.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The model's text, with any included files merged in: what a run folder saves.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every override, the macro's then the run-time ones (`layers=2`).
    pub fn overrides(&self) -> Vec<String> {
        self.fixed.iter().map(|s| s.to_string()).chain(self.overrides.iter().cloned()).collect()
    }

    /// Overrides a parameter (`layers=2`) and checks the model again. An override the model
    /// does not have, or one that makes it fail the check, is an error with its diagnostics;
    /// one that changes the context is [`Error::Context`], since the type fixes the context.
    pub fn set(mut self, assignment: impl Into<String>) -> Result<Embedded<VOCAB, CONTEXT>, Error> {
        self.overrides.push(assignment.into());
        self.check_context()?;
        Ok(self)
    }

    /// The model as the library API takes it.
    pub fn spec(&self) -> ModelSpec {
        ModelSpec::inline(self.origin.as_ref(), self.text.as_ref()).with_overrides(self.overrides())
    }

    /// The checked graph: shapes, parameters, FLOPs and memory (at the default batch of 64).
    pub fn check(&self) -> Result<Checked, Diagnostics> {
        self.spec().check(VOCAB, Limits::default().batch as usize)
    }

    fn check_context(&self) -> Result<Checked, Error> {
        let checked = self.check()?;
        let found = checked.graph.context.size as usize;
        if found != CONTEXT {
            return Err(Error::Context { model: checked.graph.name.clone(), expected: CONTEXT, found });
        }
        Ok(checked)
    }

    /// The settings `tinyarch run` would use for this model on `data` under `budget` exact
    /// training FLOPs: the study's last-token objective and protocols, batch 64, Adam at 3e-4.
    /// Change any field before training.
    pub fn run_config(&self, data: &Data<VOCAB>, budget: f64) -> RunConfig {
        let dataset = data.dataset();
        let mut config = RunConfig::new(&dataset.corpus, budget, CONTEXT);
        config.split_set = Some(dataset.split_set.clone());
        config.tokenizer = Some(dataset.tokenizer_name.clone());
        config.overrides = self.overrides();
        (config.train, config.eval) = RunConfig::default_protocols(Objective::Last, !dataset.tokenizer.is_words());
        config
    }

    /// Builds the model on `device` with fresh weights (from `config`'s seed and optimizer).
    pub fn build(&self, config: &RunConfig, device: DeviceKind) -> Result<Model<VOCAB, CONTEXT>, Error> {
        self.context_of(config)?;
        let checked = self.spec().check(VOCAB, config.batch)?;
        let source = self.spec().source(&checked)?;
        let trainable = api::build(checked, config, device)?;
        Ok(Model { trainable, config: config.clone(), name: source.name.clone(), source_sha256: source.sha256() })
    }

    /// The run folder `tinyarch run` would use under `root` (`runs`): `<root>/<corpus>/<name>`,
    /// named by everything that determines the result (see [`api::run_name`]).
    pub fn run_dir(
        &self,
        root: &Path,
        data: &Data<VOCAB>,
        config: &RunConfig,
        device: DeviceKind,
    ) -> Result<std::path::PathBuf, Error> {
        let checked = self.spec().check(VOCAB, config.batch)?;
        let source = self.spec().source(&checked)?;
        let identity = api::run_identity(&source, config, data.dataset(), device)?;
        Ok(root.join(&config.corpus).join(api::run_name(&source.name, config, &identity)))
    }

    /// Trains the model on `data` under `config` into the run folder `out`, as `tinyarch run`
    /// does (`results.jsonl`, `curve.jsonl`, the model text, `run.ron` and the selected
    /// weights). A diverged or interrupted run is `Ok`, with that status in its record.
    pub fn train(
        &self,
        data: &Data<VOCAB>,
        config: &RunConfig,
        device: DeviceKind,
        out: &Path,
        observer: &mut dyn Observer,
    ) -> Result<Run<VOCAB, CONTEXT>, Error> {
        self.context_of(config)?;
        let record = api::train(&self.spec(), data.dataset(), config, device, out, observer)?;
        Ok(Run { record, dir: out.to_path_buf() })
    }

    fn context_of(&self, config: &RunConfig) -> Result<(), Error> {
        if config.context != CONTEXT {
            return Err(Error::Context { model: self.name.to_string(), expected: CONTEXT, found: config.context });
        }
        Ok(())
    }
}

/// A finished run: its record and its folder.
#[derive(Clone, Debug)]
pub struct Run<const VOCAB: usize, const CONTEXT: usize> {
    pub record: RunRecord,
    pub dir: PathBuf,
}

impl<const VOCAB: usize, const CONTEXT: usize> Run<VOCAB, CONTEXT> {
    /// The run's model with its selected weights, rebuilt from the folder.
    pub fn restore(&self, device: DeviceKind) -> Result<Model<VOCAB, CONTEXT>, Error> {
        Model::restore(&self.dir, device)
    }
}

/// A model built on a device, with weights: evaluate it, ask it for logits, sample from it,
/// save and load its weights.
///
/// ```
/// use tinyarch::backend::DeviceKind;
/// use tinyarch::embed::{Data, Embedded};
/// use tinyarch::train::RunConfig;
///
/// let model = tinyarch::model! {
///     vocab = 65;
///     model bigram(context = 4, d = 8) { embedding(dim = d) flatten() head() }
/// };
/// let config = RunConfig::new("tiny-shakespeare", 1e9, 4);
/// let mut built = model.build(&config, DeviceKind::Cpu)?;
/// // One window of exactly 4 token ids in, one row of 65 logits out: both sizes are types.
/// let logits: Vec<[f32; 65]> = built.logits(&[[0, 1, 2, 3]])?;
/// assert_eq!(logits.len(), 1);
///
/// let path = std::env::temp_dir().join(format!("bigram-{}.safetensors", std::process::id()));
/// built.save(&path)?;
/// let mut again = model.build(&RunConfig { seed: 2, ..config }, DeviceKind::Cpu)?;
/// again.load(&path)?;
/// assert_eq!(again.logits(&[[0, 1, 2, 3]])?, logits);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Model<const VOCAB: usize, const CONTEXT: usize> {
    trainable: Box<dyn Trainable>,
    config: RunConfig,
    name: String,
    source_sha256: String,
}

impl<const VOCAB: usize, const CONTEXT: usize> Model<VOCAB, CONTEXT> {
    /// Rebuilds a run folder's model with its saved weights; its vocabulary and context must be
    /// the type's.
    pub fn restore(dir: &Path, device: DeviceKind) -> Result<Model<VOCAB, CONTEXT>, Error> {
        let restored = api::restore(dir, VOCAB, device)?;
        let meta = train::load_checkpoint(&dir.join(train::CHECKPOINT_FILE))?.meta;
        if restored.context != CONTEXT {
            return Err(Error::Context { model: meta.model, expected: CONTEXT, found: restored.context });
        }
        Ok(Model {
            trainable: restored.model,
            config: restored.config,
            name: meta.model,
            source_sha256: meta.source_sha256,
        })
    }

    /// The settings the model was built with.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// The NLL (nats per predicted token) of `split` under the settings' evaluation protocol
    /// and average, dropout off.
    pub fn evaluate(&mut self, data: &Data<VOCAB>, split: Split) -> Result<f64, Error> {
        let sampler = Sampler::new(data.split(split)?, self.config.eval_sampler())?;
        let evaluation = train::evaluate(self.trainable.as_mut(), &sampler, self.config.max_eval_batches)
            .ok_or(Error::Interrupted)?;
        Ok(evaluation.nll(self.config.average))
    }

    /// The logits of the token after each window.
    pub fn logits(&mut self, windows: &[[u32; CONTEXT]]) -> Result<Vec<[f32; VOCAB]>, Error> {
        if let Some(&id) = windows.iter().flatten().find(|&&id| id as usize >= VOCAB) {
            return Err(Error::TokenId { id, vocab: VOCAB });
        }
        let ids: Vec<u32> = windows.iter().flatten().copied().collect();
        let flat = self.trainable.next_token_logits(&ids, windows.len());
        Ok(flat.chunks_exact(VOCAB).filter_map(|row| row.try_into().ok()).collect())
    }

    /// Generates text after `prompt` (tokenized by `data`).
    pub fn sample(&mut self, data: &Data<VOCAB>, prompt: &str, config: &SampleConfig) -> Result<String, Error> {
        let prompt = data.encode(prompt)?;
        let ids = train::generate(self.trainable.as_mut(), &prompt, CONTEXT, config)?;
        Ok(data.decode(&ids))
    }

    /// Writes the weights to a safetensors checkpoint, as a run folder holds them.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let meta = CheckpointMeta {
            model: self.name.clone(),
            source_sha256: self.source_sha256.clone(),
            corpus: self.config.corpus.clone(),
            tokenizer: self.config.tokenizer.clone().unwrap_or_default(),
            vocab: VOCAB,
        };
        Ok(train::save_checkpoint(path, &self.trainable.weights(), &meta)?)
    }

    /// Replaces the weights with a checkpoint's; its vocabulary, names and shapes must match.
    pub fn load(&mut self, path: &Path) -> Result<(), Error> {
        let meta = train::load_checkpoint(path)?.meta;
        if meta.vocab != VOCAB {
            let what = format!("the checkpoint `{}` (trained on `{}`)", path.display(), meta.corpus);
            return Err(Error::Vocab { what, expected: VOCAB, found: meta.vocab });
        }
        train::load_into(self.trainable.as_mut(), path)?;
        Ok(())
    }

    /// The model on its device, for what the typed methods do not cover.
    pub fn trainable(&mut self) -> &mut dyn Trainable {
        self.trainable.as_mut()
    }
}
