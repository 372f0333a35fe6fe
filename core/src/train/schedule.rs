//! Learning-rate schedules: constant, and linear warmup followed by cosine decay.
//!
//! The warmup follows nanoGPT's `get_lr`: step `s < warmup` uses `lr * (s + 1) / (warmup + 1)`,
//! so the ramp starts just above 0 and no step is wasted at a rate of exactly 0. The cosine then
//! runs from `lr` at step `warmup` to `min_ratio * lr` at the last step.

use serde::{Deserialize, Serialize};

/// How the learning rate changes over a run of known length.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    /// The optimizer's rate at every step.
    #[default]
    Constant,
    /// Linear warmup over `warmup_steps`, then cosine decay to `min_ratio * lr` at the last step.
    WarmupCosine {
        /// Steps of the linear ramp.
        warmup_steps: u64,
        /// The final rate as a fraction of the peak (0.1 is common).
        min_ratio: f64,
    },
}

impl Schedule {
    /// The rate of step `step` (0-based) of a run of `total_steps` steps at peak rate `lr`.
    pub fn lr(&self, lr: f64, step: u64, total_steps: u64) -> f64 {
        match *self {
            Schedule::Constant => lr,
            Schedule::WarmupCosine { warmup_steps, min_ratio } => {
                if step < warmup_steps {
                    return lr * (step + 1) as f64 / (warmup_steps + 1) as f64;
                }
                let last = total_steps.saturating_sub(1);
                let decay_steps = last.saturating_sub(warmup_steps);
                // A run that ends inside its warmup has no decay: its last step is already at the floor.
                let progress = if decay_steps == 0 {
                    1.0
                } else {
                    (step - warmup_steps).min(decay_steps) as f64 / decay_steps as f64
                };
                let min = min_ratio * lr;
                min + (lr - min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }

    /// Checks the settings: a ratio in `[0, 1]`.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::WarmupCosine { min_ratio, .. } if !(0.0..=1.0).contains(&min_ratio) => {
                Err(format!("`min_ratio` is {min_ratio}; it must be between 0 and 1"))
            }
            Schedule::WarmupCosine { .. } => Ok(()),
        }
    }
}
