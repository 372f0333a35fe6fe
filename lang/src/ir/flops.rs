//! FLOP accounting. Four conventions, reported side by side:
//!
//! - `exact`: 2 FLOPs per multiply-accumulate of every matrix product the graph runs
//!   (projections, QK^T and AV at the computed context, the head). Under `last` that is the
//!   pruned graph. Training = forward + backward, and the backward of a matrix product costs
//!   twice its forward, so 3x. Elementwise work, softmax and norms are counted in their own
//!   columns and never folded into the budget.
//! - `dense`: the same count for the graph that computes every position, as the study's code
//!   does even when the loss reads only the last. Equal to `exact` under `all`, and for models
//!   that predict one token per window.
//! - `kaplan`: Kaplan et al. (2020): per predicted token, 6N (N = non-embedding parameters)
//!   plus the attention context term 6 * n_layer * n_ctx * d_attn.
//! - `paper`: the study's estimate, 2 x (all parameters) x context per sample.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Forward FLOPs, by kind of work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Flops {
    /// 2 per multiply-accumulate of a matrix product.
    pub matmul: u64,
    /// One per element per elementwise op: bias adds, activations, dropout masks, residual
    /// adds, position adds, RoPE (3 per rotated element).
    pub elementwise: u64,
    /// Per attention score: scale, max, exp, sum, divide: 5.
    pub softmax: u64,
    /// Per element: layer norm 7 (mean, centre, square, sum, normalise, scale, shift),
    /// RMS norm 4 (square, sum, normalise, scale).
    pub norm: u64,
}

impl Flops {
    pub fn matmul(n: u64) -> Flops {
        Flops { matmul: n, ..Flops::default() }
    }

    pub fn elementwise(n: u64) -> Flops {
        Flops { elementwise: n, ..Flops::default() }
    }

    pub fn checked_add(self, o: Flops) -> Option<Flops> {
        Some(Flops {
            matmul: self.matmul.checked_add(o.matmul)?,
            elementwise: self.elementwise.checked_add(o.elementwise)?,
            softmax: self.softmax.checked_add(o.softmax)?,
            norm: self.norm.checked_add(o.norm)?,
        })
    }

    /// Everything but the matrix products.
    pub fn other(&self) -> u64 {
        self.elementwise.saturating_add(self.softmax).saturating_add(self.norm)
    }
}

/// A FLOP-counting convention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Convention {
    Exact,
    Dense,
    Kaplan,
    Paper,
}

impl Convention {
    pub const ALL: [Convention; 4] = [Convention::Exact, Convention::Dense, Convention::Kaplan, Convention::Paper];

    pub fn name(self) -> &'static str {
        match self {
            Convention::Exact => "exact",
            Convention::Dense => "dense",
            Convention::Kaplan => "kaplan",
            Convention::Paper => "paper",
        }
    }
}

impl fmt::Display for Convention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Convention {
    type Err = String;
    fn from_str(s: &str) -> Result<Convention, String> {
        Convention::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown FLOP convention `{s}`: expected `exact`, `dense`, `kaplan` or `paper`"))
    }
}

/// Training FLOPs per sample under each convention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TrainingFlops {
    pub exact: u64,
    pub dense: u64,
    pub kaplan: u64,
    pub paper: u64,
}

impl TrainingFlops {
    pub fn get(&self, convention: Convention) -> u64 {
        match convention {
            Convention::Exact => self.exact,
            Convention::Dense => self.dense,
            Convention::Kaplan => self.kaplan,
            Convention::Paper => self.paper,
        }
    }
}

/// What the conventions are computed from.
pub struct FlopInputs {
    /// Forward matrix-product FLOPs per sample of the graph as run.
    pub forward_matmul: u64,
    /// The same for the graph that computes every position.
    pub dense_forward_matmul: u64,
    /// Parameters other than token and position embeddings.
    pub non_embedding_params: u64,
    pub all_params: u64,
    /// Sum over attention layers of `2 * n_ctx * d_attn`.
    pub kaplan_context: u64,
    pub context: u64,
    /// Tokens whose prediction the loss reads, per sample.
    pub predicted_tokens: u64,
}

impl FlopInputs {
    /// `None` on overflow.
    pub fn training(&self) -> Option<TrainingFlops> {
        let exact = self.forward_matmul.checked_mul(3)?;
        let dense = self.dense_forward_matmul.checked_mul(3)?;
        let per_token = self.non_embedding_params.checked_mul(2)?.checked_add(self.kaplan_context)?;
        let kaplan = per_token.checked_mul(3)?.checked_mul(self.predicted_tokens)?;
        let paper = self.all_params.checked_mul(2)?.checked_mul(self.context)?;
        Some(TrainingFlops { exact, dense, kaplan, paper })
    }
}
