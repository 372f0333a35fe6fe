//! Experiment files (`experiments/*.ron`): which models, settings, budgets and seeds to run on
//! one or more corpora. An experiment expands into cells (corpus x model x variant x length x objective x seed),
//! each trained into its own folder `<out>/<corpus>/<cell>`, by [`sweep`](crate::experiment::sweep).
//!
//! ```text
//! file    the RON format, read with line and column errors
//! cells   expansion into cells, cell names, shards
//! sweep   running cells, skipping finished ones, redoing interrupted ones
//! ```

mod cells;
mod file;
mod sweep;

pub use cells::{Cell, Length, Shard, expand};
pub use file::{Corpora, Experiment, ModelEntry, Scalar, Settings};
pub use sweep::{CellOutcome, EXPERIMENT_FILE, SweepSummary, sweep};

use std::path::PathBuf;

/// What stops an experiment before or while it runs.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{origin}:{line}:{column}: {message}\n  help: {help}")]
    Syntax { origin: String, line: usize, column: usize, message: String, help: String },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("`--shard {0}`: {1}")]
    Shard(String, String),
    #[error("{cell}: {source}")]
    Cell { cell: String, source: Box<crate::api::Error> },
    #[error(
        "{cell}: the folder `{dir}` holds a run of another model or other settings; \
         sweep into another `--out` folder, or delete that folder to rerun it"
    )]
    Changed { cell: String, dir: PathBuf },
    #[error(transparent)]
    Train(#[from] crate::train::TrainError),
}
