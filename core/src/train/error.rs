//! The one error type of training, evaluation, checkpoints and sampling.
//!
//! Like the data layer's errors, each message states the problem on its first line (lowercase,
//! no final period, identifiers in backticks) and says what to do on a `help:` line.

use std::path::PathBuf;

use thiserror::Error;

use crate::data::DataError;
use crate::ir::Convention;
use crate::units::{human, thousands};

/// Everything that can stop a run before or outside training. A diverged or interrupted run is
/// not an error: it returns a record that says so.
#[derive(Debug, Error)]
pub enum TrainError {
    /// Settings that contradict each other or the data.
    #[error("invalid run settings: {message}\nhelp: {help}")]
    Config {
        /// The problem.
        message: String,
        /// How to fix it.
        help: String,
    },

    /// A run file that is not valid RON for [`super::RunConfig`].
    #[error("malformed run settings {origin}:{line}:{column}: {message}\nhelp: {help}")]
    ConfigSyntax {
        /// Where the text came from (a path, `run settings`).
        origin: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser found.
        message: String,
        /// The fields a run file may set.
        help: String,
    },

    /// A budget that does not pay for a single step.
    #[error(
        "the budget of {} FLOPs ({convention}) is smaller than one training step, which costs {} FLOPs ({rows} samples x {} FLOPs)\nhelp: the smallest budget that allows one step is {step_cost} (`--budget {}`); or use a smaller `--batch`",
        human_u128(*budget), human_u128(*step_cost), thousands(*per_sample), human_u128(*step_cost)
    )]
    BudgetTooSmall {
        /// The budget, in whole FLOPs.
        budget: u128,
        /// The convention it counts in.
        convention: Convention,
        /// Rows of the first batch.
        rows: usize,
        /// FLOPs per sample in `convention`.
        per_sample: u64,
        /// FLOPs of the first step: the smallest budget that allows one.
        step_cost: u128,
    },

    /// Data could not be loaded or sampled.
    #[error(transparent)]
    Data(#[from] DataError),

    /// A file could not be read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// `read`, `write`, `create`, ...
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },

    /// A checkpoint that does not fit the model, or is not a tinyarch checkpoint.
    #[error("checkpoint `{}`: {message}\nhelp: {help}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// The problem.
        message: String,
        /// How to fix it.
        help: String,
    },

    /// The model refused weights whose names and shapes had been checked: a backend bug.
    #[error("the model rejected its weights: {0}")]
    LoadWeights(String),

    /// Sampling settings out of range, or a model that gave logits of the wrong size.
    #[error("cannot sample: {message}\nhelp: {help}")]
    Sample {
        /// The problem.
        message: String,
        /// How to fix it.
        help: String,
    },

    /// Training finished but its files could not all be written; the record is in the message.
    #[error(
        "the run finished, but its folder could not be completed: {source}\nhelp: free space or fix the folder; the result record, to keep:\n{record}"
    )]
    RecordNotSaved {
        /// The record as a `results.jsonl` line.
        record: String,
        source: Box<TrainError>,
    },

    /// A line of `results.jsonl` or `curve.jsonl` that is not what it should be.
    #[error("cannot decode {what} at `{}` line {line}: {message}", path.display())]
    Decode {
        /// What the line should hold.
        what: &'static str,
        path: std::path::PathBuf,
        line: usize,
        /// The decoder's message.
        message: String,
    },

    /// A result record or curve that could not be turned into JSON.
    #[error("cannot encode {what}: {message}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's message.
        message: String,
    },
}

impl TrainError {
    pub(crate) fn config(message: impl Into<String>, help: impl Into<String>) -> TrainError {
        TrainError::Config { message: message.into(), help: help.into() }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> TrainError {
        TrainError::Io { action, path: path.into(), source }
    }
}

/// FLOP figures beyond `u64` print in the same `1.23e12` style.
fn human_u128(n: u128) -> String {
    match u64::try_from(n) {
        Ok(n) => human(n),
        Err(_) => format!("{:.2e}", n as f64),
    }
}
