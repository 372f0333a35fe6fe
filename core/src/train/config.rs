//! The settings of one run, saved as `run.ron` beside its results so it can be rerun.
//!
//! ```text
//! RunConfig(
//!     corpus: "tiny-shakespeare",
//!     budget: 1e13,
//!     context: 128,
//!     train: Study(samples: 10000),
//!     eval: FirstWindows(10000),
//! )
//! ```
//!
//! Only `corpus`, `context` and a limit are required: `budget`, or `stop: (epochs: 3)` (also
//! `max_steps`, `max_time` in seconds), or both; every other field has the default of
//! [`RunConfig::new`]. Unknown fields are errors with their line and column.

use serde::{Deserialize, Serialize};

use super::error::TrainError;
use super::eval::Average;
use super::model::OptimizerConfig;
use super::schedule::Schedule;
use super::stop::StopRules;
use crate::data::{Dataset, Objective, SamplerConfig};
use crate::ir::Convention;

/// Everything that determines a run besides the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The corpus name (`tinyarch corpora` lists them).
    pub corpus: String,
    /// The split set; `None`: the corpus's default.
    #[serde(default)]
    pub split_set: Option<String>,
    /// The tokenizer; `None`: the corpus's default.
    #[serde(default)]
    pub tokenizer: Option<String>,
    /// Model parameters overridden on the command line (`layers=4`), to rebuild the model.
    #[serde(default)]
    pub overrides: Vec<String>,
    /// `Last` (the study's: the token after the window) or `All` (every position).
    #[serde(default = "default_objective", with = "ObjectiveDef")]
    pub objective: Objective,
    /// The convention the budget counts in.
    #[serde(default = "default_convention")]
    pub convention: Convention,
    /// Training FLOPs, in `convention`; `None`: only the other stopping rules limit the run.
    #[serde(default)]
    pub budget: Option<f64>,
    /// Epochs, steps or wall-clock time; the first limit reached, budget included, stops the run.
    #[serde(default, skip_serializing_if = "StopRules::is_empty")]
    pub stop: StopRules,
    /// Rows per training and evaluation batch.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Tokens per window: the model's context.
    pub context: usize,
    #[serde(default)]
    pub optimizer: OptimizerConfig,
    #[serde(default)]
    pub schedule: Schedule,
    /// Seeds the data order (the backend's initialisation takes it too).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Evaluate validation every this many steps (and after the last step).
    #[serde(default = "default_eval_interval")]
    pub eval_interval: u64,
    /// Which training windows.
    #[serde(default = "default_train")]
    pub train: TrainProtocol,
    /// Which evaluation windows (validation, test and the train subset).
    #[serde(default = "default_eval")]
    pub eval: EvalProtocol,
    /// Cap on the batches of each validation and test evaluation; `None`: all of them.
    #[serde(default)]
    pub max_eval_batches: Option<usize>,
    /// The train NLL is measured on the first this many batches of the evaluation windows of the
    /// train split.
    #[serde(default = "default_train_eval_batches")]
    pub train_eval_batches: usize,
    /// How an evaluation averages: per target, or the mean of per-batch means (the study's).
    #[serde(default)]
    pub average: Average,
    /// Keep the weights of the best validation NLL and report test NLL with them.
    #[serde(default = "default_true")]
    pub select_best: bool,
}

/// Which windows training draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrainProtocol {
    /// The study's: `samples` windows per epoch at uniformly random starts (with replacement),
    /// optionally only within the first `first_tokens` tokens. Trains [`Objective::Last`].
    Study {
        samples: usize,
        #[serde(default)]
        first_tokens: Option<usize>,
    },
    /// Contiguous, non-overlapping windows, shuffled each epoch. Trains [`Objective::All`].
    Standard,
}

/// Which windows evaluation scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EvalProtocol {
    /// The study's, for characters: the first `n` sliding windows of the split.
    FirstWindows(usize),
    /// The study's, for words: every sliding window within the first `n` tokens.
    FirstTokens(usize),
    /// The whole split: every sliding window under [`Objective::Last`], contiguous windows
    /// (every token predicted once) under [`Objective::All`].
    Full,
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "Objective", rename_all = "lowercase")]
enum ObjectiveDef {
    Last,
    All,
}

fn default_objective() -> Objective {
    Objective::default()
}
fn default_convention() -> Convention {
    Convention::Exact
}
fn default_batch() -> usize {
    crate::ir::DEFAULT_BATCH as usize
}
fn default_seed() -> u64 {
    1
}
fn default_eval_interval() -> u64 {
    100
}
fn default_train() -> TrainProtocol {
    TrainProtocol::Study { samples: 10_000, first_tokens: None }
}
fn default_eval() -> EvalProtocol {
    EvalProtocol::FirstWindows(10_000)
}
fn default_train_eval_batches() -> usize {
    20
}
fn default_true() -> bool {
    true
}

impl RunConfig {
    /// The study's settings for `corpus`: last-token objective, 10,000 random windows per epoch,
    /// batch 64, Adam at 3e-4, validation every 100 steps on the first 10,000 windows.
    pub fn new(corpus: &str, budget: f64, context: usize) -> RunConfig {
        RunConfig {
            corpus: corpus.to_string(),
            split_set: None,
            tokenizer: None,
            overrides: Vec::new(),
            objective: default_objective(),
            convention: default_convention(),
            budget: Some(budget),
            stop: StopRules::default(),
            batch: default_batch(),
            context,
            optimizer: OptimizerConfig::default(),
            schedule: Schedule::Constant,
            seed: default_seed(),
            eval_interval: default_eval_interval(),
            train: default_train(),
            eval: default_eval(),
            max_eval_batches: None,
            train_eval_batches: default_train_eval_batches(),
            average: Average::default(),
            select_best: true,
        }
    }

    /// The default training and evaluation protocols: the study's for the last-token objective
    /// (random windows; the first 10,000 windows, or for words every window of the first 80,000
    /// tokens), the standard ones for all positions. `characters` is true for characters and for
    /// BPE pieces, whose splits are sampled whole as characters are; false for words.
    pub fn default_protocols(objective: Objective, characters: bool) -> (TrainProtocol, EvalProtocol) {
        match (objective, characters) {
            (Objective::Last, true) => {
                (TrainProtocol::Study { samples: 10_000, first_tokens: None }, EvalProtocol::FirstWindows(10_000))
            }
            (Objective::Last, false) => (
                TrainProtocol::Study { samples: 10_000, first_tokens: Some(80_000) },
                EvalProtocol::FirstTokens(80_000),
            ),
            (Objective::All, _) => (TrainProtocol::Standard, EvalProtocol::Full),
        }
    }

    /// Parses run settings; `origin` names the text in errors (a path).
    pub fn from_ron(text: &str, origin: &str) -> Result<RunConfig, TrainError> {
        let options = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        options.from_str(text).map_err(|e| TrainError::ConfigSyntax {
            origin: origin.to_string(),
            line: e.span.start.line,
            column: e.span.start.col,
            message: lowercase_first(&e.code.to_string()),
            help: "a run file sets `corpus`, `context`, `budget` or `stop` (or both) and optionally `split_set`, \
                   `tokenizer`, `overrides`, `objective`, `convention`, `batch`, `optimizer`, `schedule`, `seed`, \
                   `eval_interval`, `train`, `eval`, `max_eval_batches`, `train_eval_batches`, `average`, \
                   `select_best`"
                .into(),
        })
    }

    /// The settings as pretty RON, as `run.ron` holds them.
    pub fn to_ron(&self) -> Result<String, TrainError> {
        let pretty = ron::ser::PrettyConfig::new().struct_names(true);
        ron::ser::to_string_pretty(self, pretty)
            .map_err(|e| TrainError::Encode { what: "run settings", message: e.to_string() })
    }

    /// Checks the settings against each other (not yet against the data).
    pub fn validate(&self) -> Result<(), TrainError> {
        if self.batch == 0 || self.context == 0 {
            return Err(TrainError::config(
                format!("`batch` is {} and `context` is {}", self.batch, self.context),
                "both must be at least 1",
            ));
        }
        if self.eval_interval == 0 {
            return Err(TrainError::config("`eval_interval` is 0", "evaluate every N >= 1 steps"));
        }
        let train_objective = match self.train {
            TrainProtocol::Study { .. } => Objective::Last,
            TrainProtocol::Standard => Objective::All,
        };
        if train_objective != self.objective {
            let (name, needed) = match self.objective {
                Objective::Last => ("last", "`Study(samples: N)` (random windows)"),
                Objective::All => ("all", "`Standard` (contiguous windows)"),
            };
            return Err(TrainError::config(
                format!("the objective `{name}` cannot train on the `train` protocol {:?}", self.train),
                format!("the objective `{name}` trains with `train: {needed}`"),
            ));
        }
        if self.objective == Objective::All && self.eval != EvalProtocol::Full {
            return Err(TrainError::config(
                format!("the objective `all` cannot be evaluated with `eval: {:?}`", self.eval),
                "the study's first-windows protocols score only the last position; use `eval: Full`",
            ));
        }
        self.stop.validate()?;
        if let Some(b) = self.budget
            && !(b.is_finite() && b >= 1.0)
        {
            return Err(TrainError::config(
                format!("the budget is {b} FLOPs"),
                "give a positive, finite number of FLOPs, e.g. `--budget 1e13`",
            ));
        }
        let lr = self.optimizer.lr;
        if !(lr.is_finite() && lr > 0.0) {
            return Err(TrainError::config(format!("the learning rate is {lr}"), "use a positive rate, e.g. 3e-4"));
        }
        self.validate_optimizer()?;
        self.validate_windows()?;
        self.schedule.validate().map_err(|m| TrainError::config(m, "fix the `schedule` settings"))
    }

    /// Adam's settings as PyTorch accepts them: betas in [0, 1), eps above 0, a clip above 0,
    /// a weight decay of 0 or more.
    fn validate_optimizer(&self) -> Result<(), TrainError> {
        let o = &self.optimizer;
        let bad = |what: String, help: &str| Err(TrainError::config(what, help));
        if o.betas.iter().any(|b| !(0.0..1.0).contains(b)) {
            return bad(
                format!("the betas are {:?}", o.betas),
                "each beta must be at least 0 and below 1, e.g. (0.9, 0.999)",
            );
        }
        if !(o.eps.is_finite() && o.eps > 0.0) {
            return bad(format!("eps is {}", o.eps), "use a small positive eps, e.g. 1e-8");
        }
        if let Some(clip) = o.clip
            && !(clip.is_finite() && clip > 0.0)
        {
            return bad(
                format!("the gradient clip is {clip}"),
                "clip to a positive norm, e.g. 1.0, or leave `clip` out",
            );
        }
        if !(o.weight_decay.is_finite() && o.weight_decay >= 0.0) {
            return bad(format!("the weight decay is {}", o.weight_decay), "use 0 or a positive decay, e.g. 0.1");
        }
        Ok(())
    }

    /// Every sampler and evaluation draws at least one window.
    fn validate_windows(&self) -> Result<(), TrainError> {
        let none =
            |what: &str| Err(TrainError::config(format!("{what} is 0"), "every evaluation and epoch needs a window"));
        match self.train {
            TrainProtocol::Study { samples: 0, .. } => return none("`train: Study(samples)`"),
            TrainProtocol::Study { first_tokens: Some(0), .. } => return none("`train: Study(first_tokens)`"),
            _ => {}
        }
        match self.eval {
            EvalProtocol::FirstWindows(0) => return none("`eval: FirstWindows(n)`"),
            EvalProtocol::FirstTokens(0) => return none("`eval: FirstTokens(n)`"),
            _ => {}
        }
        if self.max_eval_batches == Some(0) {
            return none("`max_eval_batches`");
        }
        if self.train_eval_batches == 0 {
            return none("`train_eval_batches`");
        }
        Ok(())
    }

    /// The training sampler's settings.
    pub fn train_sampler(&self) -> SamplerConfig {
        match self.train {
            TrainProtocol::Study { samples, first_tokens } => {
                SamplerConfig::study_train(self.context, self.batch, samples, first_tokens, self.seed)
            }
            TrainProtocol::Standard => SamplerConfig::standard_train(self.context, self.batch, self.seed),
        }
    }

    /// The evaluation sampler's settings (the same for every split).
    pub fn eval_sampler(&self) -> SamplerConfig {
        match (self.eval, self.objective) {
            (EvalProtocol::FirstWindows(n), _) => SamplerConfig::study_eval_windows(self.context, self.batch, n),
            (EvalProtocol::FirstTokens(n), _) => SamplerConfig::study_eval_tokens(self.context, self.batch, n),
            // Every sliding window of the split: a `FirstTokens` that reaches past its end.
            (EvalProtocol::Full, Objective::Last) => {
                SamplerConfig::study_eval_tokens(self.context, self.batch, usize::MAX)
            }
            (EvalProtocol::Full, Objective::All) => SamplerConfig::standard_eval(self.context, self.batch),
        }
    }

    /// Checks that the dataset is the one these settings name.
    pub fn check_dataset(&self, data: &Dataset) -> Result<(), TrainError> {
        let mismatch = |what: &str, want: &str, got: &str| {
            TrainError::config(
                format!("the settings name {what} `{want}` but the loaded data has `{got}`"),
                "load the dataset the settings name",
            )
        };
        if self.corpus != data.corpus {
            return Err(mismatch("corpus", &self.corpus, &data.corpus));
        }
        if let Some(s) = &self.split_set
            && *s != data.split_set
        {
            return Err(mismatch("split set", s, &data.split_set));
        }
        if let Some(t) = &self.tokenizer
            && *t != data.tokenizer_name
        {
            return Err(mismatch("tokenizer", t, &data.tokenizer_name));
        }
        Ok(())
    }
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
