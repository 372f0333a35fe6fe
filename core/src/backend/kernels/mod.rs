//! Fused kernels behind one device trait.
//!
//! [`Kernels`] has a method per fused op whose default body is the composite dfdx version from
//! [`crate::backend::ops`], so every `D: Device<E>` (CUDA included) gets a working implementation for
//! free. The CPU overrides them with hand-written forward/backward loops, parallel with rayon,
//! registered on the tape as custom ops (see [`cpu`]).
//!
//! Dropout arguments are effective probabilities (0 outside training). Fused dropout draws its
//! masks from a counter-based hash, the composite one from dfdx's sequential RNG: both are
//! deterministic for a seeded device, but they do not give the same masks.

pub mod cpu;

use std::ops::Range;

use dfdx::prelude::*;

use crate::backend::ops::{self, Activation, Rope};
use crate::backend::{Tensor1, Tensor2, Tensor4};

/// Where q, k and v sit in the attention inputs: q in columns `q_col .. q_col + width` of the
/// query source (`[B*Tq, Wq]`), k and v at `k_col`, `v_col` of the key/value source
/// (`[B*Tk, Wkv]`). Rows are batch-major; query row `i` sits at position `Tk - Tq + i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttnLayout {
    pub batch: usize,
    pub heads: usize,
    pub width: usize,
    pub q_col: usize,
    pub k_col: usize,
    pub v_col: usize,
}

pub trait Kernels<E: Dtype>: Device<E> {
    /// Multiplies a gradient buffer by `s` in place (gradient clipping). Returns `false` where
    /// the device has no such kernel, so the caller can refuse clipping there.
    fn scale_in_place(_buffer: &mut <Self as Storage<E>>::Vec, _s: E) -> bool {
        false
    }

    /// Overwrites a buffer with host values of the same length (an optimizer's saved moments).
    /// Returns `false` where the device cannot, so the caller can refuse to resume there.
    fn write_buffer(_buffer: &mut <Self as Storage<E>>::Vec, _values: &[E]) -> bool {
        false
    }

    /// Whether [`Kernels::write_buffer`] works here, so that runs can be checkpointed and resumed.
    fn resumable() -> bool {
        false
    }

    /// Causal multi-head attention without projections: returns `[B*Tq, C]`, heads side by side.
    fn attention_core<T: Tape<E, Self>>(
        q_src: Tensor2<E, Self, T>,          // [B*Tq, Wq]
        kv_src: Option<Tensor2<E, Self, T>>, // [B*Tk, Wkv]; None: k and v are columns of q_src
        layout: AttnLayout,
        rope: Option<&Rope<E, Self>>,
        dropout: f64,
    ) -> Tensor2<E, Self, T> {
        ops::attention_core_composite(q_src, kv_src, layout, rope, dropout, false)
    }

    /// `dropout(softmax(scale * s + causal mask))` over the last axis; query `i` sees keys
    /// `j <= i + Tk - Tq`.
    fn softmax_causal<T: Tape<E, Self>>(
        scores: Tensor4<E, Self, T>, // [B, H, Tq, Tk]
        scale: f64,
        dropout: f64,
    ) -> Tensor4<E, Self, T> {
        let probs = ops::masked_softmax(scores, scale, false);
        ops::draws::counted_dropout(probs, dropout)
    }

    /// `nn.LayerNorm` over the last axis.
    fn layer_norm<T: Tape<E, Self>>(
        x: Tensor2<E, Self, T>, // [N, C]
        gamma: &Tensor1<E, Self>,
        beta: &Tensor1<E, Self>,
        eps: f64,
    ) -> Tensor2<E, Self, T> {
        ops::layer_norm(x, gamma, beta, eps)
    }

    /// `x + r` for activations of one shape (a residual sum).
    fn add<T: Tape<E, Self>>(x: Tensor2<E, Self, T>, r: Tensor2<E, Self, T>) -> Tensor2<E, Self, T> {
        x + r
    }

    /// `nn.LayerNorm` of a residual sum, `layer_norm(x + r)` (post-LN blocks).
    fn add_layer_norm<T: Tape<E, Self>>(
        x: Tensor2<E, Self, T>, // [N, C]
        r: Tensor2<E, Self, T>, // [N, C]
        gamma: &Tensor1<E, Self>,
        beta: &Tensor1<E, Self>,
        eps: f64,
    ) -> Tensor2<E, Self, T> {
        ops::layer_norm(x + r, gamma, beta, eps)
    }

    /// `dropout(act(x @ w[rows]^T + b[rows]))` with `w` `[out, in]`: a linear layer, or part of
    /// one (the q or kv rows of a fused qkv projection) without slicing the parameters.
    fn linear<T: Tape<E, Self>>(
        x: Tensor2<E, Self, T>, // [N, in]
        w: &Tensor2<E, Self>,   // [out, in]
        b: &Tensor1<E, Self>,   // [out]
        rows: Range<usize>,
        act: Activation,
        dropout: f64,
    ) -> Tensor2<E, Self, T> {
        ops::dense_composite(x, w, b, rows, act, dropout)
    }

    /// `dropout(act(x + b))`, the tail of a linear layer. The bias may carry a tape (a sliced
    /// parameter).
    fn bias_act<T: Tape<E, Self> + Merge<R>, R: Tape<E, Self>>(
        x: Tensor2<E, Self, T>,    // [N, F]
        bias: Tensor1<E, Self, R>, // [F]
        act: Activation,
        dropout: f64,
    ) -> Tensor2<E, Self, T> {
        let y = ops::activation(ops::add_bias(x, bias), act);
        ops::draws::counted_dropout(y, dropout)
    }

    /// Inverted dropout.
    fn dropout<S: Shape, T: Tape<E, Self>>(x: Tensor<S, E, Self, T>, p: f64) -> Tensor<S, E, Self, T> {
        ops::draws::counted_dropout(x, p)
    }

    /// Mean cross-entropy with integer targets.
    fn cross_entropy<T: Tape<E, Self>>(
        logits: Tensor2<E, Self, T>, // [M, V]
        targets: &Tensor1<usize, Self>,
    ) -> Tensor<Rank0, E, Self, T> {
        ops::cross_entropy(logits, targets)
    }
}

#[cfg(feature = "cuda")]
impl<E: Dtype> Kernels<E> for Cuda where Cuda: Device<E> {}
