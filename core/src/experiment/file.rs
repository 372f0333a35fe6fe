//! The experiment file format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ExperimentError;
use crate::data::Objective;
use crate::ir::Convention;
use crate::train::{Average, EvalProtocol, OptimizerConfig, Schedule, TrainProtocol};

/// One experiment on one corpus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// The corpus (`tinyarch corpora` lists them), or a list of corpora to run every cell on.
    pub corpus: Corpora,
    /// The split set; `None`: the corpus's default.
    #[serde(default)]
    pub split_set: Option<String>,
    /// The tokenizer; `None`: the corpus's default.
    #[serde(default)]
    pub tokenizer: Option<String>,
    /// The models, each with its variants and, optionally, its own number of epochs.
    pub models: Vec<ModelEntry>,
    /// Training-FLOP budgets, in `convention`, for models that give neither `epochs` nor their
    /// own `budgets`.
    #[serde(default)]
    pub budgets: Vec<f64>,
    #[serde(default = "default_convention")]
    pub convention: Convention,
    /// Every model trains under each objective it allows (one-token models only `last`).
    #[serde(default = "default_objectives", with = "objectives")]
    pub objectives: Vec<Objective>,
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Run settings shared by every cell.
    #[serde(default)]
    pub settings: Settings,
    /// Published test NLLs to print beside the results, by cell label (`linear`, `mlp hidden=256`),
    /// or by corpus and label (`ptb/transformer`) where corpora differ.
    #[serde(default)]
    pub published: BTreeMap<String, f64>,
}

/// `corpus: "ptb"` or `corpus: ["ptb", "wikitext-2"]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Corpora {
    One(String),
    Many(Vec<String>),
}

impl Corpora {
    pub fn names(&self) -> &[String] {
        match self {
            Corpora::One(name) => std::slice::from_ref(name),
            Corpora::Many(names) => names,
        }
    }
}

/// One model file and its variants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// The `.model` file, relative to the experiment file.
    pub file: PathBuf,
    /// Overrides every variant gets (`["dropout=0.1"]`).
    #[serde(default)]
    pub set: Vec<String>,
    /// Parameters to vary: every combination of the listed values is a variant.
    #[serde(default)]
    pub vary: BTreeMap<String, Vec<Scalar>>,
    /// Train for this many epochs of the training protocol instead of the experiment's budgets;
    /// the budget becomes that many epochs' FLOPs in the `paper` convention, as the study counted.
    #[serde(default)]
    pub epochs: Option<u32>,
    /// This model's budgets, in place of the experiment's (a cheap model need not climb as high).
    #[serde(default)]
    pub budgets: Option<Vec<f64>>,
}

/// A parameter value in `vary`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Text(s) => write!(f, "{s}"),
        }
    }
}

/// Run settings shared by the cells; unset fields take the `tinyarch run` defaults, and the
/// training and evaluation protocols default per objective (the study's for `last`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub batch: Option<usize>,
    #[serde(default)]
    pub optimizer: Option<OptimizerConfig>,
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// Validation every this many steps; epoch-length cells default to once per epoch.
    #[serde(default)]
    pub eval_interval: Option<u64>,
    /// The protocols of the `last` objective (`all` always uses `Standard` and `Full`).
    #[serde(default)]
    pub train: Option<TrainProtocol>,
    #[serde(default)]
    pub eval: Option<EvalProtocol>,
    #[serde(default)]
    pub max_eval_batches: Option<usize>,
    #[serde(default)]
    pub train_eval_batches: Option<usize>,
    #[serde(default)]
    pub average: Option<Average>,
    #[serde(default)]
    pub select_best: Option<bool>,
}

fn default_convention() -> Convention {
    Convention::Exact
}
fn default_objectives() -> Vec<Objective> {
    vec![Objective::Last]
}
fn default_seeds() -> Vec<u64> {
    vec![1]
}

/// `objectives: [last, all]`, as `run.ron` spells them.
mod objectives {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::data::Objective;

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Name {
        Last,
        All,
    }

    pub fn serialize<S: Serializer>(objectives: &[Objective], s: S) -> Result<S::Ok, S::Error> {
        let names: Vec<Name> = objectives
            .iter()
            .map(|o| match o {
                Objective::Last => Name::Last,
                Objective::All => Name::All,
            })
            .collect();
        names.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Objective>, D::Error> {
        let names = Vec::<Name>::deserialize(d)?;
        Ok(names
            .into_iter()
            .map(|n| match n {
                Name::Last => Objective::Last,
                Name::All => Objective::All,
            })
            .collect())
    }
}

impl Experiment {
    /// Reads and validates an experiment file.
    pub fn read(path: &Path) -> Result<Experiment, ExperimentError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ExperimentError::Read { path: path.to_path_buf(), source: e })?;
        Experiment::parse(&text, &path.display().to_string())
    }

    /// Parses and validates experiment text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Experiment, ExperimentError> {
        let options = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        let experiment: Experiment = options.from_str(text).map_err(|e| ExperimentError::Syntax {
            origin: origin.to_string(),
            line: e.span.start.line,
            column: e.span.start.col,
            message: e.code.to_string(),
            help: "an experiment sets `corpus` and `models`, and optionally `split_set`, `tokenizer`, `budgets`, \
                   `convention`, `objectives`, `seeds`, `settings` and `published`; a model entry sets `file` \
                   and optionally `set`, `vary`, `epochs` and `budgets`"
                .into(),
        })?;
        experiment.validate(origin)?;
        Ok(experiment)
    }

    fn validate(&self, origin: &str) -> Result<(), ExperimentError> {
        let invalid = |message: String| Err(ExperimentError::Invalid { origin: origin.to_string(), message });
        if self.corpus.names().is_empty() {
            return invalid("`corpus` lists no corpus".into());
        }
        if self.models.is_empty() {
            return invalid("`models` is empty: name at least one model file".into());
        }
        if self.seeds.is_empty() || self.objectives.is_empty() {
            return invalid("`seeds` and `objectives` each need at least one entry".into());
        }
        let budgets = std::iter::once(&self.budgets).chain(self.models.iter().filter_map(|m| m.budgets.as_ref()));
        if let Some(b) = budgets.flatten().find(|b| !(b.is_finite() && **b > 0.0)) {
            return invalid(format!("the budget {b} is not a positive number of FLOPs"));
        }
        for entry in &self.models {
            let own_budgets = entry.budgets.as_ref().map(Vec::len);
            match (entry.epochs, own_budgets) {
                (Some(0), _) => return invalid(format!("`{}`: `epochs` is 0", entry.file.display())),
                (Some(_), Some(_)) => {
                    return invalid(format!("`{}` gives both `epochs` and `budgets`: keep one", entry.file.display()));
                }
                (None, Some(0)) => return invalid(format!("`{}`: `budgets` is empty", entry.file.display())),
                (None, None) if self.budgets.is_empty() => {
                    return invalid(format!(
                        "`{}` has no `epochs` and the experiment has no `budgets`: give one or the other",
                        entry.file.display()
                    ));
                }
                _ => {}
            }
            if let Some((name, _)) = entry.vary.iter().find(|(_, values)| values.is_empty()) {
                return invalid(format!("`{}`: `vary` lists no values for `{name}`", entry.file.display()));
            }
        }
        Ok(())
    }
}
