//! Shared by the `train_*` tests: a real, small [`Trainable`] and the Tiny Shakespeare data.
//!
//! The model is a bigram: the logits of the next token are a row of a `[V, V]` table (the row of
//! the previous token) plus a `[V]` bias, trained with Adam exactly as PyTorch defines it. It is
//! tiny, fast and learns real structure, so the runner can be tested end to end in milliseconds.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use tinyarch::data::{self, Batch, Dataset, Locator, Objective};
use tinyarch::ir::TrainingFlops;
use tinyarch::train::{OptimizerConfig, Trainable, Weights};

#[path = "../common/mod.rs"]
pub mod common;
pub use common::data_dir;

/// Tiny Shakespeare, the study's split, characters; loaded once per test binary.
pub fn shakespeare() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| {
        let locator = Locator::from_env(Some(&data_dir()));
        data::load("tiny-shakespeare", &locator, Some("study"), None).expect("tiny shakespeare loads")
    })
}

/// A fresh, empty folder under cargo's scratch directory for integration tests.
pub fn scratch(name: &str) -> PathBuf {
    let dir = common::scratch_root().join("train").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Entropy (nats) of the unigram distribution of the training split: what a model that ignores
/// context can at best reach.
pub fn unigram_entropy(data: &Dataset) -> f64 {
    let mut counts = vec![0u64; data.vocab_size()];
    for id in data.train.to_vec() {
        counts[id as usize] += 1;
    }
    let n = data.train.len() as f64;
    counts.iter().filter(|&&c| c > 0).map(|&c| c as f64 / n).map(|p| -p * p.ln()).sum()
}

/// A bigram language model with Adam.
pub struct Bigram {
    vocab: usize,
    context: usize,
    /// `[V, V]`: row = previous token, column = next token.
    table: Vec<f32>,
    /// `[V]`
    bias: Vec<f32>,
    /// Adam's moments, laid out as `table` then `bias`.
    m: Vec<f32>,
    v: Vec<f32>,
    t: u64,
    opt: OptimizerConfig,
    steps: u64,
    /// Return NaN as the loss of this step (1-based): divergence.
    pub nan_at: Option<u64>,
    /// After this step, every step adds large noise to the weights: validation gets worse.
    pub spoil_after: Option<u64>,
    /// The standard deviation of the noise each spoiled step adds to every weight.
    pub spoil_noise: f32,
}

impl Bigram {
    pub fn new(vocab: usize, context: usize, opt: OptimizerConfig) -> Bigram {
        let n = vocab * vocab + vocab;
        Bigram {
            vocab,
            context,
            table: vec![0.0; vocab * vocab],
            bias: vec![0.0; vocab],
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
            opt,
            steps: 0,
            nan_at: None,
            spoil_after: None,
            spoil_noise: 0.3,
        }
    }

    /// `(previous token, target)` of every prediction of `batch`.
    fn pairs(batch: &Batch) -> Vec<(usize, usize)> {
        let ctx = batch.context;
        match batch.objective {
            Objective::Last => {
                (0..batch.batch).map(|r| (batch.ids[r * ctx + ctx - 1] as usize, batch.targets[r] as usize)).collect()
            }
            Objective::All => batch.ids.iter().zip(&batch.targets).map(|(&i, &t)| (i as usize, t as usize)).collect(),
        }
    }

    /// Log-softmax of the logits after `prev`: `[V]`.
    fn log_probs(&self, prev: usize) -> Vec<f64> {
        let row = &self.table[prev * self.vocab..(prev + 1) * self.vocab];
        let z: Vec<f64> = row.iter().zip(&self.bias).map(|(&a, &b)| f64::from(a + b)).collect();
        let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + z.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
        z.iter().map(|x| x - lse).collect()
    }
}

impl Trainable for Bigram {
    /// Per prediction: log-softmax forward (exp and sum, 2V) and backward (2V), Adam on the
    /// touched row (2V). No matrix product runs; `kaplan` and `paper` treat the table as a head.
    fn flops_per_sample(&self, objective: Objective) -> TrainingFlops {
        let v = self.vocab as u64;
        let predicted = match objective {
            Objective::Last => 1,
            Objective::All => self.context as u64,
        };
        TrainingFlops {
            exact: 6 * v * predicted,
            dense: 6 * v * self.context as u64,
            kaplan: 6 * v * v * predicted,
            paper: 2 * v * v * self.context as u64,
        }
    }

    fn train_step(&mut self, batch: &Batch, lr: f64) -> f32 {
        self.steps += 1;
        let v = self.vocab;
        let pairs = Bigram::pairs(batch);
        let n = pairs.len() as f64;
        // grad: [V, V] table then [V] bias
        let mut grad = vec![0.0f64; v * v + v];
        let mut loss = 0.0;
        for &(prev, target) in &pairs {
            let lp = self.log_probs(prev);
            loss -= lp[target];
            for (j, l) in lp.iter().enumerate() {
                let g = (l.exp() - if j == target { 1.0 } else { 0.0 }) / n;
                grad[prev * v + j] += g;
                grad[v * v + j] += g;
            }
        }
        // Adam (PyTorch): bias-corrected moments, eps outside the square root.
        self.t += 1;
        let [b1, b2] = self.opt.betas;
        let (c1, c2) = (1.0 - b1.powi(self.t as i32), 1.0 - b2.powi(self.t as i32));
        for (i, g) in grad.iter().enumerate() {
            let m = b1 * f64::from(self.m[i]) + (1.0 - b1) * g;
            let s = b2 * f64::from(self.v[i]) + (1.0 - b2) * g * g;
            self.m[i] = m as f32;
            self.v[i] = s as f32;
            let step = (lr * (m / c1) / ((s / c2).sqrt() + self.opt.eps)) as f32;
            if i < v * v { self.table[i] -= step } else { self.bias[i - v * v] -= step }
        }
        if self.spoil_after.is_some_and(|k| self.steps > k) {
            let mut rng = tinyarch::rng::Rng::new(self.steps);
            for w in &mut self.table {
                *w += self.spoil_noise * rng.normal_f32();
            }
        }
        if self.nan_at == Some(self.steps) {
            return f32::NAN;
        }
        (loss / n) as f32
    }

    fn eval_batch(&mut self, batch: &Batch) -> (f64, usize) {
        let pairs = Bigram::pairs(batch);
        let sum = pairs.iter().map(|&(prev, target)| -self.log_probs(prev)[target]).sum();
        (sum, pairs.len())
    }

    fn next_token_logits(&mut self, ids: &[u32], rows: usize) -> Vec<f32> {
        let ctx = ids.len() / rows;
        let mut out = Vec::with_capacity(rows * self.vocab);
        for r in 0..rows {
            let prev = ids[r * ctx + ctx - 1] as usize;
            let row = &self.table[prev * self.vocab..(prev + 1) * self.vocab];
            out.extend(row.iter().zip(&self.bias).map(|(a, b)| a + b));
        }
        out
    }

    fn weights(&self) -> Weights {
        let v = self.vocab;
        Weights {
            tensors: vec![
                ("table.weight".into(), vec![v, v], self.table.clone()),
                ("table.bias".into(), vec![v], self.bias.clone()),
            ],
        }
    }

    fn load_weights(&mut self, weights: &Weights) -> Result<(), String> {
        match weights.tensors.as_slice() {
            [(a, _, table), (b, _, bias)] if a == "table.weight" && b == "table.bias" => {
                if table.len() != self.table.len() || bias.len() != self.bias.len() {
                    return Err("wrong sizes".into());
                }
                self.table.clone_from(table);
                self.bias.clone_from(bias);
                Ok(())
            }
            _ => Err("expected `table.weight` and `table.bias`".into()),
        }
    }

    fn device_name(&self) -> String {
        "cpu".into()
    }
}
