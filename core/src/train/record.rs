//! What a run leaves in its folder:
//!
//! ```text
//! results.jsonl      one RunRecord per line (a rerun into the same folder appends)
//! curve.jsonl        one CurvePoint per step
//! model.model        the resolved model source text
//! run.ron            the RunConfig
//! model.safetensors  the selected weights (see checkpoint)
//! ```
//!
//! NLLs are in nats per predicted token; perplexity is `exp(nll)`, bits per token `nll / ln 2`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::budget::FlopsUsed;
use super::error::TrainError;
use super::eval::Average;
use super::fsio;
use super::stop::{StopRule, StopRules};
use crate::ir::Convention;

pub const RESULTS_FILE: &str = "results.jsonl";
pub const CURVE_FILE: &str = "curve.jsonl";
pub const MODEL_FILE: &str = "model.model";
pub const CONFIG_FILE: &str = "run.ron";
pub const CHECKPOINT_FILE: &str = "model.safetensors";

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Trained until a stopping rule (`stopped_by`) ended it, and evaluated.
    Completed,
    /// Stopped at a loss that is not a finite number; nothing was evaluated after it.
    Diverged,
    /// Stopped by Ctrl-C after the step in flight; holds what was complete.
    Interrupted,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Completed => "completed",
            Status::Diverged => "diverged",
            Status::Interrupted => "interrupted",
        }
    }
}

/// The result of one run: one line of `results.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The model's name in its source.
    pub model: String,
    /// SHA-256 (hex) of the resolved model source text.
    pub source_sha256: String,
    pub corpus: String,
    pub split_set: String,
    pub tokenizer: String,
    pub vocab: usize,
    /// `last` or `all`.
    pub objective: String,
    /// The convention the budget counted in.
    pub convention: Convention,
    /// The budget, in FLOPs of `convention`; `None` when other rules alone limited the run.
    pub budget: Option<f64>,
    /// The rule that ended a completed run: `budget`, `epochs`, `max_steps` or `max_time`.
    #[serde(default)]
    pub stopped_by: Option<StopRule>,
    /// The run's stopping rules besides the budget.
    #[serde(default, skip_serializing_if = "StopRules::is_empty")]
    pub stop: StopRules,
    /// Training FLOPs per sample, every convention.
    pub flops_per_sample: FlopsUsed,
    /// Training FLOPs spent, every convention: `samples * flops_per_sample`, exactly. Runs
    /// stopped by different rules compare by these.
    pub flops_used: FlopsUsed,
    pub steps: u64,
    /// Training windows (rows) seen.
    pub samples: u64,
    /// Input tokens seen: `samples * context`.
    pub tokens: u64,
    pub params: u64,
    pub context: usize,
    pub batch: usize,
    /// NLL of the train subset with the selected weights.
    pub train_nll: Option<f64>,
    /// Validation NLL of the selected weights.
    pub valid_nll: Option<f64>,
    pub test_nll: Option<f64>,
    /// `exp(test_nll)`.
    pub perplexity: Option<f64>,
    /// `test_nll / ln 2`.
    pub bits_per_token: Option<f64>,
    /// How the NLLs average their batches.
    pub average: Average,
    /// The step whose weights were selected (best validation, or the last).
    pub selected_step: Option<u64>,
    /// The whole run, evaluations included.
    pub wall_seconds: f64,
    /// Input tokens per second of training steps (evaluations excluded).
    pub tokens_per_second: f64,
    pub device: String,
    pub seed: u64,
    pub status: Status,
    /// Why a run did not complete.
    pub message: Option<String>,
}

impl RunRecord {
    /// Perplexity and bits per token of an NLL in nats.
    pub fn derived(nll: Option<f64>) -> (Option<f64>, Option<f64>) {
        (nll.map(f64::exp), nll.map(|x| x / std::f64::consts::LN_2))
    }

    /// Reads every record of a `results.jsonl`.
    pub fn read_all(path: &Path) -> Result<Vec<RunRecord>, TrainError> {
        read_jsonl(path, "a result record")
    }
}

/// Reads a JSON-lines file (`results.jsonl`, `curve.jsonl`); `what` names one line in errors.
/// A last line cut short (no line end, not JSON) is a write that never finished and is left
/// out; any other bad line is an error that names it.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path, what: &'static str) -> Result<Vec<T>, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::io("read", path, e))?;
    let torn_tail = !text.is_empty() && !text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(value) => out.push(value),
            Err(_) if torn_tail && i + 1 == lines.len() => {}
            Err(e) => {
                return Err(TrainError::Decode { what, path: path.to_path_buf(), line: i + 1, message: e.to_string() });
            }
        }
    }
    Ok(out)
}

/// One step of the loss curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Steps done (1 after the first).
    pub step: u64,
    /// FLOPs spent so far, in the budget's convention.
    pub flops: u128,
    pub lr: f64,
    /// The step's mean training loss; `None` if it was not a finite number.
    pub train_loss: Option<f64>,
    /// Validation NLL, when evaluated after this step.
    pub valid_nll: Option<f64>,
}

/// Appends `record` to the folder's `results.jsonl`, atomically.
pub fn append_record(dir: &Path, record: &RunRecord) -> Result<(), TrainError> {
    let line = serde_json::to_string(record)
        .map_err(|e| TrainError::Encode { what: "the result record", message: e.to_string() })?;
    fsio::append_line_atomic(&dir.join(RESULTS_FILE), &line)
}

/// `curve.jsonl` written as training goes: each call appends the points not yet written and
/// flushes them. A write that fails is dropped (the finished run rewrites the whole curve).
#[derive(Default)]
pub struct CurveLog {
    file: Option<std::io::BufWriter<std::fs::File>>,
    written: usize,
}

impl CurveLog {
    /// Starts an empty `curve.jsonl` in `dir`.
    pub fn create(dir: &Path) -> Result<CurveLog, TrainError> {
        let path = dir.join(CURVE_FILE);
        let file = std::fs::File::create(&path).map_err(|e| TrainError::io("create", &path, e))?;
        Ok(CurveLog { file: Some(std::io::BufWriter::new(file)), written: 0 })
    }

    /// Rewrites `curve.jsonl` in `dir` as `curve` (a resumed run's points so far), then appends.
    pub fn resume(dir: &Path, curve: &[CurvePoint]) -> Result<CurveLog, TrainError> {
        write_curve(dir, curve)?;
        let path = dir.join(CURVE_FILE);
        let file =
            std::fs::OpenOptions::new().append(true).open(&path).map_err(|e| TrainError::io("open", &path, e))?;
        Ok(CurveLog { file: Some(std::io::BufWriter::new(file)), written: curve.len() })
    }

    /// Appends `curve[written..]`.
    pub fn append(&mut self, curve: &[CurvePoint]) {
        use std::io::Write as _;
        let Some(file) = &mut self.file else { return };
        for point in curve.get(self.written..).unwrap_or_default() {
            if let Ok(line) = serde_json::to_string(point) {
                let _ = writeln!(file, "{line}");
            }
        }
        self.written = curve.len();
        let _ = file.flush();
    }
}

/// Removes the records of interrupted attempts from the folder's `results.jsonl` (a resumed run
/// goes on to write the one record of the whole run).
pub fn drop_unfinished_records(dir: &Path) -> Result<(), TrainError> {
    let path = dir.join(RESULTS_FILE);
    if !path.is_file() {
        return Ok(());
    }
    let kept: Vec<RunRecord> =
        RunRecord::read_all(&path)?.into_iter().filter(|r| r.status != Status::Interrupted).collect();
    let mut text = String::new();
    for r in &kept {
        let line = serde_json::to_string(r)
            .map_err(|e| TrainError::Encode { what: "the result record", message: e.to_string() })?;
        text.push_str(&line);
        text.push('\n');
    }
    if kept.is_empty() {
        std::fs::remove_file(&path).map_err(|e| TrainError::io("remove", &path, e))
    } else {
        fsio::write_atomic(&path, text.as_bytes())
    }
}

/// Writes the folder's `curve.jsonl`, atomically.
pub fn write_curve(dir: &Path, curve: &[CurvePoint]) -> Result<(), TrainError> {
    let mut text = String::new();
    for point in curve {
        let line = serde_json::to_string(point)
            .map_err(|e| TrainError::Encode { what: "the loss curve", message: e.to_string() })?;
        text.push_str(&line);
        text.push('\n');
    }
    fsio::write_atomic(&dir.join(CURVE_FILE), text.as_bytes())
}
