//! Training under a fixed FLOP budget, evaluation and sampling.

mod model;

pub use model::{NotFinite, OptimizerConfig, Trainable, Weights};
