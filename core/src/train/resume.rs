//! `resume.safetensors`: everything a run needs to go on exactly where it stopped. The weights,
//! Adam's moments and step, the best validation's weights, and (as metadata) the steps and
//! samples done, the sampler's place (epoch and batch), the draws taken from the device's random
//! stream, the best and last validations and the training time. Training then continues with
//! the step that would have followed, so a resumed run ends bit-identical to one that never
//! stopped. The loss curve so far is `curve.jsonl`, written before every checkpoint.
//!
//! The file is written atomically (temporary file, fsync, rename) at validations (those that
//! keep checkpoints under 2 % of the training time), every [`interval`] of training (5 minutes
//! unless set) and when the run is stopped; it is removed once the run has its
//! record. A checkpoint of other settings or another model text is never resumed from.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::checkpoint::{FORMAT, FORMAT_KEY, TensorRef, load_tensors, save_tensors};
use super::error::TrainError;
use super::model::{OptimizerState, Weights};

/// The checkpoint's file name in a run folder.
pub const RESUME_FILE: &str = "resume.safetensors";

/// Training time between checkpoints besides those at validations and stops, by default: at
/// most this much work is lost to a `kill -9`.
pub const INTERVAL: Duration = Duration::from_secs(300);

/// The interval in force, in milliseconds (a process-wide setting: it changes no result).
static INTERVAL_MS: AtomicU64 = AtomicU64::new(INTERVAL.as_millis() as u64);

/// Sets the time between checkpoints for every run of this process (`--checkpoint-every`).
pub fn set_interval(interval: Duration) {
    INTERVAL_MS.store(interval.as_millis().clamp(1, u128::from(u64::MAX)) as u64, Ordering::Relaxed);
}

/// The time between checkpoints.
pub fn interval() -> Duration {
    Duration::from_millis(INTERVAL_MS.load(Ordering::Relaxed))
}

const STATE_KEY: &str = "resume";
const WEIGHTS: &str = "weights/";
const FIRST_MOMENT: &str = "adam.m/";
const SECOND_MOMENT: &str = "adam.v/";
const BEST: &str = "best/";

/// Where a run is, as the metadata of a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// SHA-256 of the model source (includes too) and of `run.ron`: a checkpoint resumes only
    /// the run that wrote it.
    pub source_sha256: String,
    pub config_sha256: String,
    pub steps: u64,
    pub samples: u64,
    /// The training sampler's epoch, and the batches of it already trained on.
    pub epoch: u64,
    pub batch_in_epoch: u64,
    /// Seconds spent inside training steps (for tokens per second).
    pub train_seconds: f64,
    pub adam_step: i32,
    pub random_draws: u64,
    /// The best validation, `(step, nll)`; its weights are the `best/` tensors when kept.
    pub best: Option<(u64, f64)>,
    pub last_valid: Option<(u64, f64)>,
}

/// A checkpoint read back.
#[derive(Clone, Debug, PartialEq)]
pub struct Resume {
    pub progress: Progress,
    pub weights: Weights,
    pub optimizer: OptimizerState,
    pub best_weights: Option<Weights>,
}

/// Writes the checkpoint, atomically.
pub fn save(
    path: &Path,
    progress: &Progress,
    weights: &Weights,
    optimizer: &OptimizerState,
    best_weights: Option<&Weights>,
) -> Result<(), TrainError> {
    // Names first, then borrowed values: the moments and weights are not copied again.
    let mut named: Vec<(String, &[usize], &[f32])> = Vec::with_capacity(weights.tensors.len() * 4);
    for (name, shape, values) in &weights.tensors {
        named.push((format!("{WEIGHTS}{name}"), shape, values));
    }
    for ((name, shape, _), (_, m, v)) in weights.tensors.iter().zip(&optimizer.moments) {
        named.push((format!("{FIRST_MOMENT}{name}"), shape, m));
        named.push((format!("{SECOND_MOMENT}{name}"), shape, v));
    }
    for (name, shape, values) in best_weights.iter().flat_map(|b| &b.tensors) {
        named.push((format!("{BEST}{name}"), shape, values));
    }
    let tensors: Vec<TensorRef> = named.iter().map(|(n, s, v)| (n.as_str(), *s, *v)).collect();
    let progress = Progress { adam_step: optimizer.step, random_draws: optimizer.random_draws, ..progress.clone() };
    let state = serde_json::to_string(&progress)
        .map_err(|e| TrainError::Encode { what: "the checkpoint's progress", message: e.to_string() })?;
    let info = HashMap::from([(FORMAT_KEY.to_string(), FORMAT.to_string()), (STATE_KEY.to_string(), state)]);
    save_tensors(path, &tensors, info, false)
}

/// Reads a checkpoint; `layout` (the fresh model's weights) gives the parameter order.
pub fn load(path: &Path, layout: &Weights) -> Result<Resume, TrainError> {
    let help = "delete `resume.safetensors` to train the run again from its start";
    let (info, tensors) = load_tensors(path, help)?;
    let bad = |message: String| TrainError::Checkpoint { path: path.to_path_buf(), message, help: help.into() };
    let state = info.get(STATE_KEY).ok_or_else(|| bad("it holds no progress".into()))?;
    let progress: Progress =
        serde_json::from_str(state).map_err(|e| bad(format!("its progress is unreadable: {e}")))?;
    let by_name: HashMap<&str, &(String, Vec<usize>, Vec<f32>)> = tensors.iter().map(|t| (t.0.as_str(), t)).collect();
    let part = |prefix: &str| -> Result<Weights, TrainError> {
        let mut out = Vec::with_capacity(layout.tensors.len());
        for (name, shape, _) in &layout.tensors {
            let key = format!("{prefix}{name}");
            match by_name.get(key.as_str()) {
                Some((_, s, values)) if s == shape => out.push((name.clone(), shape.clone(), values.clone())),
                _ => return Err(bad(format!("`{key}` is missing or has another shape"))),
            }
        }
        Ok(Weights { tensors: out })
    };
    let weights = part(WEIGHTS)?;
    let (m, v) = (part(FIRST_MOMENT)?, part(SECOND_MOMENT)?);
    let moments = m.tensors.into_iter().zip(v.tensors).map(|((name, _, m), (_, _, v))| (name, m, v)).collect();
    let has_best = tensors.iter().any(|t| t.0.starts_with(BEST));
    let best_weights = if has_best { Some(part(BEST)?) } else { None };
    let optimizer = OptimizerState { step: progress.adam_step, moments, random_draws: progress.random_draws };
    Ok(Resume { progress, weights, optimizer, best_weights })
}
