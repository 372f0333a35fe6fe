//! Evaluation: the negative log-likelihood of a split's windows, dropout off.
//!
//! Two averages are kept. The honest one is per target: the summed NLL over the count of
//! predictions. The study reported the mean of per-batch means, which weighs a short last batch
//! as much as a full one; [`Average`] says which a record uses.

use serde::{Deserialize, Serialize};

use super::interrupt;
use super::model::Trainable;
use crate::data::Sampler;

/// How an evaluation averages its batches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Average {
    /// Summed NLL over the number of targets.
    #[default]
    Token,
    /// The mean of per-batch means (the study's).
    Batch,
}

/// The sums of one evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Evaluation {
    /// Summed NLL (nats) over every target.
    pub nll_sum: f64,
    pub targets: u64,
    /// Sum over batches of each batch's mean NLL.
    pub batch_mean_sum: f64,
    pub batches: u64,
}

impl Evaluation {
    /// NLL per target (nats).
    pub fn token_mean(&self) -> f64 {
        self.nll_sum / self.targets as f64
    }

    /// The mean of per-batch means (nats).
    pub fn batch_mean(&self) -> f64 {
        self.batch_mean_sum / self.batches as f64
    }

    pub fn nll(&self, average: Average) -> f64 {
        match average {
            Average::Token => self.token_mean(),
            Average::Batch => self.batch_mean(),
        }
    }
}

/// Scores the batches of epoch 0 of `sampler`, the first `max_batches` of them if given. `None`
/// when Ctrl-C was pressed: a partial evaluation would be a wrong number.
pub fn evaluate(model: &mut dyn Trainable, sampler: &Sampler, max_batches: Option<usize>) -> Option<Evaluation> {
    let mut e = Evaluation::default();
    for batch in sampler.epoch(0).take(max_batches.unwrap_or(usize::MAX)) {
        if interrupt::requested() {
            return None;
        }
        let (sum, count) = model.eval_batch(&batch);
        e.nll_sum += sum;
        e.targets += count as u64;
        e.batch_mean_sum += sum / count.max(1) as f64;
        e.batches += 1;
    }
    Some(e)
}
