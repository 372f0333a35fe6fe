//! Budget accounting in exact integers.
//!
//! A step on a batch of `rows` samples costs `rows * per_sample` FLOPs in the chosen convention.
//! A run takes steps in sampler order until the next one would pass the budget. Every figure is
//! an integer product (u128, which cannot overflow for u64 factors), so the FLOPs a record
//! reports are exactly the sum of its steps' costs, with no float drift.

use serde::{Deserialize, Serialize};

use super::error::TrainError;
use crate::ir::{Convention, TrainingFlops};

/// FLOPs in each convention, side by side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlopsUsed {
    pub exact: u128,
    pub dense: u128,
    pub kaplan: u128,
    pub paper: u128,
}

impl FlopsUsed {
    /// The FLOPs of `samples` samples at `per_sample` FLOPs each.
    pub fn of(samples: u64, per_sample: &TrainingFlops) -> FlopsUsed {
        let s = u128::from(samples);
        FlopsUsed {
            exact: s * u128::from(per_sample.exact),
            dense: s * u128::from(per_sample.dense),
            kaplan: s * u128::from(per_sample.kaplan),
            paper: s * u128::from(per_sample.paper),
        }
    }

    pub fn get(&self, convention: Convention) -> u128 {
        match convention {
            Convention::Exact => self.exact,
            Convention::Dense => self.dense,
            Convention::Kaplan => self.kaplan,
            Convention::Paper => self.paper,
        }
    }
}

/// The rows of each batch of an epoch: `batch_size` rows, then the remainder, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochShape {
    /// Rows per full batch.
    pub batch_size: usize,
    /// Rows per epoch.
    pub windows: usize,
}

impl EpochShape {
    /// Rows of batch `i` of an epoch (`i < batches()`).
    pub fn rows(&self, i: usize) -> usize {
        self.batch_size.min(self.windows - i * self.batch_size)
    }

    pub fn batches(&self) -> usize {
        self.windows.div_ceil(self.batch_size)
    }
}

/// A budget in one convention and what it buys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The budget, in whole FLOPs.
    pub limit: u128,
    pub convention: Convention,
    /// Training FLOPs per sample in every convention.
    pub per_sample: TrainingFlops,
}

/// How many steps a budget buys, computed before training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepPlan {
    pub steps: u64,
    /// Samples (rows) over all those steps.
    pub samples: u64,
    /// FLOPs of those steps in every convention: `samples * per_sample`, exactly.
    pub flops: FlopsUsed,
}

impl Budget {
    /// A budget given in FLOPs as a float (`1e13`), floored to whole FLOPs.
    pub fn new(flops: f64, convention: Convention, per_sample: TrainingFlops) -> Result<Budget, TrainError> {
        if !flops.is_finite() || flops < 1.0 {
            return Err(TrainError::config(
                format!("the budget is {flops} FLOPs"),
                "give a positive, finite number of FLOPs, e.g. `--budget 1e13`",
            ));
        }
        if per_sample.get(convention) == 0 {
            return Err(TrainError::config(
                format!("the model costs 0 FLOPs per sample in the `{convention}` convention, so no budget limits it"),
                "choose another convention with `--flops`",
            ));
        }
        // `as` saturates at u128::MAX, far above any float budget that is finite.
        Ok(Budget { limit: flops as u128, convention, per_sample })
    }

    /// FLOPs of one step on `rows` samples, in the budget's convention.
    pub fn step_cost(&self, rows: usize) -> u128 {
        rows as u128 * u128::from(self.per_sample.get(self.convention))
    }

    /// Whether a step on `rows` more samples fits after `samples_done` samples.
    pub fn fits(&self, samples_done: u64, rows: usize) -> bool {
        self.spent(samples_done) + self.step_cost(rows) <= self.limit
    }

    /// FLOPs spent on `samples` samples in the budget's convention.
    pub fn spent(&self, samples: u64) -> u128 {
        u128::from(samples) * u128::from(self.per_sample.get(self.convention))
    }

    /// The steps the budget buys when epochs have `shape`: steps go in sampler order and stop at
    /// the first one that would pass the budget. An error if not even the first step fits.
    pub fn plan(&self, shape: EpochShape) -> Result<StepPlan, TrainError> {
        if shape.batch_size == 0 || shape.windows == 0 {
            return Err(TrainError::config("an epoch has no samples", "use a positive batch size and sample count"));
        }
        let first = shape.rows(0);
        if !self.fits(0, first) {
            return Err(TrainError::BudgetTooSmall {
                budget: self.limit,
                convention: self.convention,
                rows: first,
                per_sample: self.per_sample.get(self.convention),
                step_cost: self.step_cost(first),
            });
        }
        let per = u128::from(self.per_sample.get(self.convention));
        // Whole epochs first (their cost does not depend on the order of their batches).
        let epoch_cost = shape.windows as u128 * per;
        // A budget beyond any run (`1e40`) buys as many steps as a counter holds; other rules
        // (`--max-steps`) end such a run.
        let most_epochs = u64::MAX / (shape.batches().max(shape.windows) as u64);
        let epochs = u64::try_from(self.limit / epoch_cost).unwrap_or(u64::MAX).min(most_epochs);
        let mut steps = epochs * shape.batches() as u64;
        let mut samples = epochs * shape.windows as u64;
        if epochs == most_epochs {
            return Ok(StepPlan { steps, samples, flops: FlopsUsed::of(samples, &self.per_sample) });
        }
        // Then full batches of the last, partial epoch. Its short batch (if any) never fits:
        // with it, the whole epoch would have fitted.
        let left = self.limit - self.spent(samples);
        let full = ((left / self.step_cost(shape.batch_size)) as usize).min(shape.windows / shape.batch_size);
        steps += full as u64;
        samples += (full * shape.batch_size) as u64;
        Ok(StepPlan { steps, samples, flops: FlopsUsed::of(samples, &self.per_sample) })
    }
}
