//! Training under a fixed FLOP budget, evaluation, checkpoints and sampling.
//!
//! Everything here is device-independent: it sees a model only through [`Trainable`], which the
//! backend implements for each device.
//!
//! ```text
//! schedule   learning rate per step            budget      steps a budget buys, exactly
//! config     RunConfig (run.ron)               runner      the training loop and run folder
//! eval       NLL over a sampler                record      results.jsonl and curve.jsonl
//! progress   Observer, progress bar / lines    checkpoint  weights in safetensors
//! sample     text generation                   interrupt   the Ctrl-C flag
//! stop       budget, epochs, steps, time: when a run ends  lock  one trainer per run folder
//! ```

mod budget;
mod checkpoint;
mod config;
mod error;
mod eval;
mod fsio;
pub mod interrupt;
mod lock;
mod model;
mod progress;
mod record;
mod resume;
mod runner;
mod sample;
mod schedule;
mod stop;

pub use budget::{Budget, EpochShape, FlopsUsed, StepPlan};
pub use checkpoint::{Checkpoint, CheckpointMeta, load as load_checkpoint, load_into, save as save_checkpoint};
pub use config::{EvalProtocol, RunConfig, TrainProtocol};
pub use error::TrainError;
pub use eval::{Average, Evaluation, evaluate};
pub use fsio::write_atomic;
pub use lock::{Held, RunLock, lock_path};
pub use model::{NotFinite, OptimizerConfig, OptimizerState, Trainable, Weights};
pub use progress::{CheckpointEvent, EvalEvent, Observer, Progress, Silent, StartEvent, StepEvent};
pub use record::{
    CHECKPOINT_FILE, CONFIG_FILE, CURVE_FILE, CurvePoint, MODEL_FILE, RESULTS_FILE, RunRecord, Status, append_record,
    read_jsonl, write_curve,
};
pub use resume::{RESUME_FILE, interval as checkpoint_interval, set_interval as set_checkpoint_interval};
pub use runner::{ModelSource, run};
pub use sample::{MAX_SAMPLE_TOKENS, SampleConfig, generate, generate_each};
pub use schedule::Schedule;
pub use stop::{Length, StopRule, StopRules};
