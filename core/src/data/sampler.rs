//! Samplers: turn a token stream into batches of windows, reproducibly from a seed.
//!
//! Two protocols (see [`Windows`]):
//! - the study's: a window of `context` tokens predicts the one token after it
//!   ([`Objective::Last`]); training draws window starts uniformly with replacement, evaluation
//!   slides over the start of a split one token at a time;
//! - the standard one: contiguous, non-overlapping windows in which every position predicts
//!   its next token ([`Objective::All`]), shuffled per epoch for training, in order for a
//!   full-split evaluation.
//!
//! Epoch `e` of a sampler with seed `s` uses the generator `Rng::new(s).fork(e)`, so any epoch
//! can be replayed on its own and the batches do not depend on how many were consumed before.

use super::error::DataError;
use super::tokenizer::TokenStream;
use crate::rng::Rng;

/// Which positions of a window are scored: part of the language crate's FLOP plan.
pub use crate::ir::Objective;

/// One batch of windows.
///
/// `ids` is `[batch, context]` row-major. `batch` is the number of rows of this batch: the last
/// batch of an epoch may have fewer rows than the sampler's batch size, and the tail window of
/// a full-split evaluation may be shorter than the sampler's context (see [`Windows::Contiguous`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Rows in this batch.
    pub batch: usize,
    /// Tokens per row.
    pub context: usize,
    /// Input ids, `[batch, context]` row-major.
    pub ids: Vec<u32>,
    /// Target ids: `[batch]` for [`Objective::Last`], `[batch, context]` for [`Objective::All`].
    pub targets: Vec<u32>,
    /// Which positions the targets belong to.
    pub objective: Objective,
}

/// Which windows a sampler serves per epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Windows {
    /// The study's training: `samples` windows per epoch, each starting at a position drawn
    /// uniformly with replacement so that the window and its target lie within the first
    /// `first_tokens` tokens (the whole split if `None`; the study used 80,000 for words).
    Random {
        /// Windows per epoch.
        samples: usize,
        /// Only draw from this many leading tokens.
        first_tokens: Option<usize>,
    },
    /// The study's character-level evaluation: windows starting at 0, 1, 2, ... (window `i` is
    /// `tokens[i..i + context]`, its target `tokens[i + context]`), the first `n` of them in
    /// order (fewer if the split is shorter).
    FirstWindows(usize),
    /// The study's word-level evaluation: every sliding window that, with its target, lies
    /// within the first `n` tokens (all of the split if it is shorter), in order: `n - context`
    /// windows.
    FirstTokens(usize),
    /// The standard protocol: windows `tokens[j*context..(j+1)*context]` with targets shifted by
    /// one. Training (`shuffle: true`) serves the full windows in a new order each epoch and
    /// drops the incomplete tail. Evaluation (`shuffle: false`) serves them in order and then
    /// the tail as a final one-row batch with a shorter context, so that every token but the
    /// first is predicted exactly once.
    Contiguous {
        /// Shuffle the windows each epoch.
        shuffle: bool,
    },
}

/// Everything that determines a sampler's batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SamplerConfig {
    /// Tokens per window.
    pub context: usize,
    /// Rows per batch (the last batch of an epoch may have fewer).
    pub batch_size: usize,
    /// Which windows.
    pub windows: Windows,
    /// Seed of the random order (unused by the in-order protocols).
    pub seed: u64,
}

impl SamplerConfig {
    /// The study's training sampler.
    pub fn study_train(
        context: usize,
        batch_size: usize,
        samples: usize,
        first_tokens: Option<usize>,
        seed: u64,
    ) -> SamplerConfig {
        SamplerConfig { context, batch_size, windows: Windows::Random { samples, first_tokens }, seed }
    }

    /// The study's evaluation over the first `n_windows` windows (characters).
    pub fn study_eval_windows(context: usize, batch_size: usize, n_windows: usize) -> SamplerConfig {
        SamplerConfig { context, batch_size, windows: Windows::FirstWindows(n_windows), seed: 0 }
    }

    /// The study's evaluation over the first `n_tokens` tokens (words).
    pub fn study_eval_tokens(context: usize, batch_size: usize, n_tokens: usize) -> SamplerConfig {
        SamplerConfig { context, batch_size, windows: Windows::FirstTokens(n_tokens), seed: 0 }
    }

    /// The standard training sampler: contiguous windows, shuffled per epoch.
    pub fn standard_train(context: usize, batch_size: usize, seed: u64) -> SamplerConfig {
        SamplerConfig { context, batch_size, windows: Windows::Contiguous { shuffle: true }, seed }
    }

    /// The standard full-split evaluation: contiguous windows in order, tail included.
    pub fn standard_eval(context: usize, batch_size: usize) -> SamplerConfig {
        SamplerConfig { context, batch_size, windows: Windows::Contiguous { shuffle: false }, seed: 0 }
    }

    /// The objective these windows train or evaluate.
    pub fn objective(&self) -> Objective {
        match self.windows {
            Windows::Contiguous { .. } => Objective::All,
            _ => Objective::Last,
        }
    }
}

/// Serves the batches of one token stream under one [`SamplerConfig`].
#[derive(Clone, Debug)]
pub struct Sampler<'a> {
    tokens: &'a TokenStream,
    config: SamplerConfig,
    /// Full-context windows per epoch.
    n_windows: usize,
    /// For `Random`: the number of possible starts.
    n_starts: usize,
    /// For in-order `Contiguous`: the length of the tail window (0 if none).
    tail: usize,
}

impl<'a> Sampler<'a> {
    /// Checks the settings against the stream.
    pub fn new(tokens: &'a TokenStream, config: SamplerConfig) -> Result<Sampler<'a>, DataError> {
        let invalid = |message: String, help: &str| DataError::Sampler { message, help: help.to_string() };
        let context = config.context;
        if context == 0 || config.batch_size == 0 {
            return Err(invalid(
                format!("`context` is {context} and `batch_size` is {}; both must be at least 1", config.batch_size),
                "set a positive context length and batch size",
            ));
        }
        let len = tokens.len();
        let too_short = |available: usize, what: &str| {
            invalid(
                format!("{what} has {available} tokens, too few for one window of {context} tokens and its target"),
                "use a shorter context or more tokens",
            )
        };
        // (full windows per epoch, possible random starts, tail length)
        let (n_windows, n_starts, tail) = match config.windows {
            Windows::Random { samples, first_tokens } => {
                if samples == 0 {
                    return Err(invalid("`samples` per epoch is 0".into(), "draw at least one window per epoch"));
                }
                let available = first_tokens.map_or(len, |n| n.min(len));
                if available <= context {
                    return Err(too_short(available, "the sampled part of the split"));
                }
                (samples, available - context, 0)
            }
            Windows::FirstWindows(n) => {
                if len <= context {
                    return Err(too_short(len, "the split"));
                }
                (n.min(len - context), 0, 0)
            }
            Windows::FirstTokens(n) => {
                let available = n.min(len);
                if available <= context {
                    return Err(too_short(available, "the evaluated part of the split"));
                }
                (available - context, 0, 0)
            }
            Windows::Contiguous { shuffle } => {
                // Position p predicts p + 1, so len - 1 positions can be scored.
                let scored = len.saturating_sub(1);
                let n_windows = scored / context;
                let tail = if shuffle { 0 } else { scored % context };
                if n_windows == 0 && tail == 0 {
                    return Err(too_short(len, "the split"));
                }
                (n_windows, 0, tail)
            }
        };
        Ok(Sampler { tokens, config, n_windows, n_starts, tail })
    }

    /// The settings.
    pub fn config(&self) -> &SamplerConfig {
        &self.config
    }

    /// Which positions are scored.
    pub fn objective(&self) -> Objective {
        self.config.objective()
    }

    /// Rows per epoch (including a shorter tail window).
    pub fn windows_per_epoch(&self) -> usize {
        self.n_windows + usize::from(self.tail > 0)
    }

    /// Batches per epoch (including a final partial batch and the tail batch).
    pub fn batches_per_epoch(&self) -> usize {
        self.n_windows.div_ceil(self.config.batch_size) + usize::from(self.tail > 0)
    }

    /// Predictions scored per epoch.
    pub fn targets_per_epoch(&self) -> usize {
        match self.objective() {
            Objective::Last => self.n_windows,
            Objective::All => self.n_windows * self.config.context + self.tail,
        }
    }

    /// The batches of epoch `epoch`, in order. The same epoch of the same sampler always gives
    /// the same batches.
    pub fn epoch(&self, epoch: u64) -> Batches<'_, 'a> {
        let mut rng = Rng::new(self.config.seed).fork(epoch);
        let order = match self.config.windows {
            Windows::Contiguous { shuffle: true } => {
                let mut order: Vec<u32> = (0..self.n_windows as u32).collect();
                rng.shuffle(&mut order);
                order
            }
            _ => Vec::new(),
        };
        Batches { sampler: self, rng, order, next_row: 0, tail_done: self.tail == 0 }
    }

    /// Start of full window `row` of the epoch (drawing it for random windows).
    fn start(&self, row: usize, rng: &mut Rng, order: &[u32]) -> usize {
        match self.config.windows {
            Windows::Random { .. } => rng.below(self.n_starts as u64) as usize,
            Windows::FirstWindows(_) | Windows::FirstTokens(_) => row,
            Windows::Contiguous { shuffle } => {
                let j = if shuffle { order[row] as usize } else { row };
                j * self.config.context
            }
        }
    }
}

/// The batches of one epoch; see [`Sampler::epoch`].
#[derive(Debug)]
pub struct Batches<'s, 'a> {
    sampler: &'s Sampler<'a>,
    rng: Rng,
    order: Vec<u32>,
    next_row: usize,
    tail_done: bool,
}

impl Iterator for Batches<'_, '_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        let s = self.sampler;
        let context = s.config.context;
        let objective = s.objective();
        if self.next_row < s.n_windows {
            let rows = s.config.batch_size.min(s.n_windows - self.next_row);
            let mut ids = Vec::with_capacity(rows * context);
            let mut targets = Vec::with_capacity(match objective {
                Objective::Last => rows,
                Objective::All => rows * context,
            });
            for r in 0..rows {
                let start = s.start(self.next_row + r, &mut self.rng, &self.order);
                s.tokens.extend_into(&mut ids, start, context);
                match objective {
                    Objective::Last => s.tokens.extend_into(&mut targets, start + context, 1),
                    Objective::All => s.tokens.extend_into(&mut targets, start + 1, context),
                }
            }
            self.next_row += rows;
            return Some(Batch { batch: rows, context, ids, targets, objective });
        }
        if !self.tail_done {
            self.tail_done = true;
            let start = s.n_windows * context;
            let mut ids = Vec::with_capacity(s.tail);
            let mut targets = Vec::with_capacity(s.tail);
            s.tokens.extend_into(&mut ids, start, s.tail);
            s.tokens.extend_into(&mut targets, start + 1, s.tail);
            return Some(Batch { batch: 1, context: s.tail, ids, targets, objective });
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let s = self.sampler;
        let full = (s.n_windows - self.next_row).div_ceil(s.config.batch_size);
        let n = full + usize::from(!self.tail_done);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Batches<'_, '_> {}
