//! What the runner needs from a model built on a device. The backend implements it for every
//! device (CPU, CUDA); the runner, evaluation and sampling only see this trait.

use crate::data::{Batch, Objective};
use crate::ir::TrainingFlops;

/// Named parameter values, in f32 on the host: a checkpoint, or the best-validation weights.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Weights {
    /// `(name, shape, values)` in the model's parameter order.
    pub tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
}

/// The optimizer and schedule settings of one run (PyTorch's definitions).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
// Run files may set only some fields (the rest are PyTorch's defaults); a misspelt one is an error.
#[serde(default, deny_unknown_fields)]
pub struct OptimizerConfig {
    /// Decoupled weight decay (AdamW) instead of Adam's L2 term.
    pub decoupled: bool,
    pub lr: f64,
    pub betas: [f64; 2],
    pub eps: f64,
    pub weight_decay: f64,
    /// Clip the global gradient norm to this value.
    pub clip: Option<f64>,
}

impl Default for OptimizerConfig {
    /// PyTorch's `Adam` defaults, with the study's learning rate.
    fn default() -> OptimizerConfig {
        OptimizerConfig { decoupled: false, lr: 3e-4, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.0, clip: None }
    }
}

/// What a model must save, besides its weights, for training to go on exactly where it stopped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimizerState {
    /// Adam's step count.
    pub step: i32,
    /// `(parameter name, first moment, second moment)` in the model's parameter order.
    pub moments: Vec<(String, Vec<f32>, Vec<f32>)>,
    /// Draws taken from the device's random stream (dropout masks) so far.
    pub random_draws: u64,
}

/// A loss that is not a finite number: training must stop.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("the loss is {loss} at step {step}")]
pub struct NotFinite {
    pub step: u64,
    pub loss: f32,
}

/// A model on a device with its optimizer state.
pub trait Trainable {
    /// Training FLOPs per sample of one step under `objective`, in every convention, counting
    /// only what the compiled graph computes.
    fn flops_per_sample(&self, objective: Objective) -> TrainingFlops;

    /// One optimizer step on `batch` at learning rate `lr` (dropout on). Returns the batch's
    /// mean loss before the update.
    fn train_step(&mut self, batch: &Batch, lr: f64) -> f32;

    /// The summed negative log-likelihood (nats) of `batch`'s targets and their count,
    /// dropout off, no gradients.
    fn eval_batch(&mut self, batch: &Batch) -> (f64, usize);

    /// Logits of the next token after each row of `ids` (`[rows, context]`), `[rows, vocab]`.
    fn next_token_logits(&mut self, ids: &[u32], rows: usize) -> Vec<f32>;

    fn weights(&self) -> Weights;

    /// Replaces every parameter's values; the names and shapes must match.
    fn load_weights(&mut self, weights: &Weights) -> Result<(), String>;

    /// `cpu` or `cuda:0`.
    fn device_name(&self) -> String;

    /// The optimizer's moments and the random stream's position, for a checkpoint; `None` where
    /// the model cannot resume (then runs are not checkpointed).
    fn optimizer_state(&self) -> Option<OptimizerState> {
        None
    }

    /// Puts back a state from [`Trainable::optimizer_state`], on a freshly built model whose
    /// weights were loaded, so that the next step is the one that would have followed.
    fn load_optimizer_state(&mut self, _state: &OptimizerState) -> Result<(), String> {
        Err("this model cannot resume".into())
    }
}
