//! Multi-head causal self-attention with a fused qkv projection (`nn.MultiheadAttention`
//! layout: `in_proj` `[3C, C]` rows ordered q, k, v; heads split the width).
//!
//! Two forms: [`attention`] for every position, and [`attention_last`] that computes queries,
//! scores and the output projection only for the last position (the `last` objective's final
//! block), while keys and values still cover the whole window. Both share the core
//! `softmax(QK^T / sqrt(Dh) + mask) V`, composite here or fused by the device.

use dfdx::prelude::*;

use super::{Activation, Mode, Rope, dense, dense_rows};
use crate::backend::kernels::AttnLayout;
use crate::backend::{Kernels, Tensor1, Tensor2, Tensor4};

/// One attention layer's parameters (views from the store).
#[derive(Debug, Clone)]
pub struct AttentionParams<E: Dtype, D: Device<E>> {
    pub qkv_w: Tensor2<E, D>, // [3C, C]
    pub qkv_b: Tensor1<E, D>, // [3C]
    pub out_w: Tensor2<E, D>, // [C, C]
    pub out_b: Tensor1<E, D>, // [C]
    pub heads: usize,
}

/// Attention at every position of `x` (`[B*T, C]`, rows batch-major), output projection
/// included. `p` is the effective dropout, applied to the probabilities and to the output (as
/// `TransformerEncoderLayer`'s attention dropout and `dropout1`).
pub fn attention<E: Dtype, D: Kernels<E>, T: Tape<E, D>>(
    x: Tensor2<E, D, T>, // [N, C]
    w: &AttentionParams<E, D>,
    batch: usize,
    rope: Option<&Rope<E, D>>,
    p: f64,
    mode: Mode,
) -> Tensor2<E, D, T> {
    let c = x.shape().1;
    let qkv = dense(x, &w.qkv_w, &w.qkv_b, Activation::Identity, 0.0, mode); // [N, 3C]
    let layout = AttnLayout { batch, heads: w.heads, width: c, q_col: 0, k_col: c, v_col: 2 * c };
    let y = core(qkv, None, layout, rope, p, mode); // [N, C]
    dense(y, &w.out_w, &w.out_b, Activation::Identity, p, mode) // [N, C]
}

/// Attention output for the last position of each sequence only: returns `[B, C]`.
/// The in-projection is split by rows so that queries are computed for `B` rows, not `B*T`.
/// `x_last` must be the last row of each sequence of `x` (the caller selects it once and reuses
/// it for the residual).
pub fn attention_last<E: Dtype, D: Kernels<E>, T: Tape<E, D>>(
    x: Tensor2<E, D, T>,      // [N, C]
    x_last: Tensor2<E, D, T>, // [B, C]
    w: &AttentionParams<E, D>,
    rope: Option<&Rope<E, D>>,
    p: f64,
    mode: Mode,
) -> Tensor2<E, D, T> {
    let c = x.shape().1;
    let batch = x_last.shape().0;
    // The in-projection split by rows: q for the B last rows, k and v for all N rows.
    let q = dense_rows(x_last, &w.qkv_w, &w.qkv_b, 0..c, Activation::Identity, 0.0, mode); // [B, C]
    let kv = dense_rows(x, &w.qkv_w, &w.qkv_b, c..3 * c, Activation::Identity, 0.0, mode); // [N, 2C]
    let layout = AttnLayout { batch, heads: w.heads, width: c, q_col: 0, k_col: 0, v_col: c };
    let y = core(q, Some(kv), layout, rope, p, mode); // [B, C]
    dense(y, &w.out_w, &w.out_b, Activation::Identity, p, mode) // [B, C]
}

/// Scores, causal softmax, dropout and the value mix: the fused kernel where the mode allows.
pub fn core<E: Dtype, D: Kernels<E>, T: Tape<E, D>>(
    q_src: Tensor2<E, D, T>,
    kv_src: Option<Tensor2<E, D, T>>, // None: k and v are columns of q_src
    layout: AttnLayout,
    rope: Option<&Rope<E, D>>,
    p: f64,
    mode: Mode,
) -> Tensor2<E, D, T> {
    if mode.fused_attention() {
        D::attention_core(q_src, kv_src, layout, rope, p)
    } else {
        attention_core_composite(q_src, kv_src, layout, rope, p, mode.fused_ops())
    }
}

/// The attention core from dfdx ops: slices, permutes, batched matmuls, masked softmax
/// (`fused_softmax`: the device's fused kernel) and dropout. Returns `[B*Tq, C]`.
pub fn attention_core_composite<E: Dtype, D: Kernels<E>, T: Tape<E, D>>(
    q_src: Tensor2<E, D, T>,          // [B*Tq, Wq]
    kv_src: Option<Tensor2<E, D, T>>, // [B*Tk, Wkv]; None: k and v are in q_src
    l: AttnLayout,
    rope: Option<&Rope<E, D>>,
    p: f64,
    fused_softmax: bool,
) -> Tensor2<E, D, T> {
    let (b, h, c) = (l.batch, l.heads, l.width);
    let dh = c / h;
    let kv_src = kv_src.unwrap_or_else(|| q_src.retaped::<T>());
    let (tq, tk) = (q_src.shape().0 / b, kv_src.shape().0 / b);
    // Slices of disjoint columns; when both sources are one tensor (q, k, v of one qkv), it has
    // no other consumer, so slice's assigning backward is still correct.
    let q = q_src.slice((.., l.q_col..l.q_col + c)); // [B*Tq, C]
    let k = kv_src.retaped::<T>().slice((.., l.k_col..l.k_col + c)); // [B*Tk, C]
    let v = kv_src.slice((.., l.v_col..l.v_col + c)); // [B*Tk, C]
    let mut q = q.reshape_like(&(b, tq, h, dh)); // [B, Tq, H, Dh]
    let mut k = k.reshape_like(&(b, tk, h, dh)); // [B, Tk, H, Dh]
    let v = v.reshape_like(&(b, tk, h, dh)); // [B, Tk, H, Dh]
    if let Some(rope) = rope {
        q = rope.apply(q, tk - tq);
        k = rope.apply(k, 0);
    }
    let q = q.permute::<_, Axes4<0, 2, 1, 3>>(); // [B, H, Tq, Dh]
    let kt = k.permute::<_, Axes4<0, 2, 3, 1>>(); // [B, H, Dh, Tk]
    let v = v.permute::<_, Axes4<0, 2, 1, 3>>(); // [B, H, Tk, Dh]
    super::count::record_matmul(b * h, tq, dh, tk);
    let scores = q.matmul(kt); // [B, H, Tq, Tk]
    let scale = 1.0 / (dh as f64).sqrt();
    let probs = if fused_softmax {
        D::softmax_causal(scores, scale, p)
    } else {
        let probs = masked_softmax(scores, scale, false);
        super::draws::counted_dropout(probs, p)
    }; // [B, H, Tq, Tk]
    super::count::record_matmul(b * h, tq, tk, dh);
    let y = probs.matmul(v); // [B, H, Tq, Dh]
    y.permute::<_, Axes4<0, 2, 1, 3>>().reshape_like(&(b * tq, c)) // [B*Tq, C] (copies)
}

/// `softmax(scale * s + mask)` over the last axis, where query row `i` of `Tq` sees keys
/// `j <= i + Tk - Tq` (so a single last-position query sees the whole window).
pub fn masked_softmax<E: Dtype, D: Kernels<E>, T: Tape<E, D>>(
    scores: Tensor4<E, D, T>, // [B, H, Tq, Tk]
    scale: f64,
    fused: bool,
) -> Tensor4<E, D, T> {
    if fused {
        return D::softmax_causal(scores, scale, 0.0);
    }
    let shape = *scores.shape();
    let (_, _, tq, tk) = shape;
    let offset = (tk - tq) as isize;
    let dev = scores.device().clone();
    let mask: Tensor2<E, D> = dev.upper_tri_like(&(tq, tk), E::from_f64(f64::NEG_INFINITY).unwrap(), offset + 1);
    let mask = mask.broadcast_like::<_, Axes2<0, 1>>(&shape); // [B, H, Tq, Tk]
    ((scores * E::from_f64(scale).unwrap()) + mask).softmax::<Axis<3>>()
}
