//! When a run stops: a FLOP budget, a number of epochs, a number of steps or a wall-clock time,
//! alone or together. The first limit reached ends training, and the record names it.
//!
//! The budget, epochs and steps are known before the first step, so they give the run a length
//! (what a schedule decays over and what the progress bar counts to). A time limit is checked
//! before each step; a run with only a time limit has no known length.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::budget::{Budget, EpochShape};
use super::error::TrainError;

/// The limits besides the FLOP budget (`--epochs`, `--max-steps`, `--max-time`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopRules {
    /// Passes over the training sampler's epoch.
    #[serde(default)]
    pub epochs: Option<u64>,
    /// Optimizer steps.
    #[serde(default)]
    pub max_steps: Option<u64>,
    /// Wall-clock seconds of the whole run, evaluations included.
    #[serde(default)]
    pub max_time: Option<f64>,
}

/// The rule that ended a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopRule {
    /// The next step would have passed the FLOP budget.
    Budget,
    /// The last of `epochs` epochs is done.
    Epochs,
    /// `max_steps` steps are done.
    MaxSteps,
    /// The wall-clock limit was reached.
    MaxTime,
}

impl StopRule {
    /// `budget`, `epochs`, `max_steps` or `max_time`, as in the record.
    pub fn name(self) -> &'static str {
        match self {
            StopRule::Budget => "budget",
            StopRule::Epochs => "epochs",
            StopRule::MaxSteps => "max_steps",
            StopRule::MaxTime => "max_time",
        }
    }
}

impl std::fmt::Display for StopRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The length a run's known limits give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Length {
    /// The steps the run takes unless the time limit comes first; `None`: only a time limit.
    pub steps: Option<u64>,
    /// The rule that sets `steps`.
    pub rule: Option<StopRule>,
}

impl StopRules {
    /// Whether no rule is set (only a budget can stop the run).
    pub fn is_empty(&self) -> bool {
        *self == StopRules::default()
    }

    /// Checks the values alone: every limit above 0.
    pub fn validate(&self) -> Result<(), TrainError> {
        if self.epochs == Some(0) || self.max_steps == Some(0) {
            return Err(TrainError::config("`epochs` or `max_steps` is 0", "a limit must allow at least one step"));
        }
        if let Some(t) = self.max_time
            && !(t.is_finite() && t > 0.0)
        {
            return Err(TrainError::config(
                format!("`max_time` is {t} seconds"),
                "give a positive time, e.g. `--max-time 10m`",
            ));
        }
        Ok(())
    }

    /// The time limit, if any.
    pub fn time_limit(&self) -> Option<Duration> {
        self.max_time.map(Duration::from_secs_f64)
    }

    /// The length under the budget (if any) and these rules, for epochs of `shape`: the fewest
    /// steps any known limit allows. On a tie the budget, then epochs, then steps is named. An
    /// error if nothing limits the run.
    pub fn length(&self, budget: Option<&Budget>, shape: EpochShape) -> Result<Length, TrainError> {
        if shape.batch_size == 0 || shape.windows == 0 {
            return Err(TrainError::config("an epoch has no samples", "use a positive batch size and sample count"));
        }
        let mut limits = Vec::new();
        if let Some(budget) = budget {
            limits.push((budget.plan(shape)?.steps, StopRule::Budget));
        }
        if let Some(epochs) = self.epochs {
            limits.push((epochs.saturating_mul(shape.batches() as u64), StopRule::Epochs));
        }
        if let Some(steps) = self.max_steps {
            limits.push((steps, StopRule::MaxSteps));
        }
        if limits.is_empty() && self.max_time.is_none() {
            return Err(TrainError::config(
                "nothing stops the run",
                "give a budget, epochs, a number of steps or a time limit (`--budget 1e12`, `--epochs 3`, \
                 `--max-steps 500`, `--max-time 10m`)",
            ));
        }
        // `min_by_key` keeps the first of equal keys: the order above breaks ties.
        let first = limits.into_iter().min_by_key(|(steps, _)| *steps);
        Ok(Length { steps: first.map(|(s, _)| s), rule: first.map(|(_, r)| r) })
    }

    /// A short label for run folder names: `e3`, `steps500`, `t600s`, joined by `-`; empty
    /// without rules.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some(e) = self.epochs {
            parts.push(format!("e{e}"));
        }
        if let Some(s) = self.max_steps {
            parts.push(format!("steps{s}"));
        }
        if let Some(t) = self.max_time {
            parts.push(format!("t{t}s"));
        }
        parts.join("-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Convention, TrainingFlops};

    fn budget(flops: f64) -> Budget {
        Budget::new(flops, Convention::Exact, TrainingFlops { exact: 10, dense: 10, kaplan: 10, paper: 10 }).unwrap()
    }

    const SHAPE: EpochShape = EpochShape { batch_size: 4, windows: 10 };

    #[test]
    fn the_fewest_steps_win_and_ties_name_the_budget_first() {
        // 3 batches per epoch; 1,000 FLOPs buy 100 samples = 10 epochs = 30 steps.
        let rules = StopRules { epochs: Some(2), max_steps: Some(7), max_time: None };
        assert_eq!(
            rules.length(Some(&budget(1e3)), SHAPE).unwrap(),
            Length { steps: Some(6), rule: Some(StopRule::Epochs) }
        );
        let rules = StopRules { epochs: Some(10), max_steps: None, max_time: None };
        assert_eq!(rules.length(Some(&budget(1e3)), SHAPE).unwrap().rule, Some(StopRule::Budget));
        let rules = StopRules { max_steps: Some(5), ..StopRules::default() };
        assert_eq!(rules.length(None, SHAPE).unwrap(), Length { steps: Some(5), rule: Some(StopRule::MaxSteps) });
    }

    #[test]
    fn a_time_limit_alone_gives_no_length_and_nothing_at_all_is_an_error() {
        let rules = StopRules { max_time: Some(1.0), ..StopRules::default() };
        assert_eq!(rules.length(None, SHAPE).unwrap(), Length { steps: None, rule: None });
        let err = StopRules::default().length(None, SHAPE).unwrap_err().to_string();
        assert!(err.contains("nothing stops the run"), "{err}");
    }

    #[test]
    fn zero_and_non_finite_limits_are_refused() {
        for rules in [
            StopRules { epochs: Some(0), ..StopRules::default() },
            StopRules { max_steps: Some(0), ..StopRules::default() },
            StopRules { max_time: Some(f64::NAN), ..StopRules::default() },
            StopRules { max_time: Some(-1.0), ..StopRules::default() },
        ] {
            assert!(rules.validate().is_err(), "{rules:?}");
        }
    }
}
