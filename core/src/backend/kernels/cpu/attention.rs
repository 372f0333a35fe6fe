//! Fused causal attention core: per (batch, head), `softmax(scale * Q K^T + mask)`, dropout,
//! `@ V`, with optional RoPE on Q and K, reading q, k, v straight out of the projection outputs
//! and writing heads side by side (`[B*Tq, C]`). Replaces 3 slices, 3 permutes, 2 batched
//! matmuls (each a loop of B*H small multi-threaded gemms), the softmax, dropout and the
//! head-merging copy, forward and backward.
//!
//! Work is split over the batch (one rayon task per sequence, single-threaded gemms inside).
//! Saved for backward: the softmax probabilities (`[B, H, Tq, Tk]`, dropped entries stored
//! negated, so the mask costs no memory and no rehashing) and the input copies.
//!
//! Backward per head, with `Pd = P * mask * s` (dropout scale `s`):
//! `dV = Pd^T dY`, `dPd = dY V^T`, `dP = dPd * mask * s`,
//! `dS = scale * P * (dP - rowsum(P * dP))`, `dQ = dS K`, `dK = dS^T Q`, then RoPE's transpose.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::gemm::{View, matmul};
use super::rng::DropMask;
use super::simd::{max, sum_by, sum_by2, vectorized};
use super::{Real, to_host, with_grad_out, zeros};
use crate::backend::Tensor2;
use crate::backend::kernels::AttnLayout;
use crate::backend::ops::{self, Rope};

pub fn attention_core<E: Real, T: Tape<E, Cpu>>(
    q_src: Tensor2<E, Cpu, T>,          // [B*Tq, Wq], q at columns q_col..q_col+C
    kv_src: Option<Tensor2<E, Cpu, T>>, // [B*Tk, Wkv], k and v at k_col, v_col; None: in q_src
    l: AttnLayout,
    rope: Option<&Rope<E, Cpu>>,
    dropout: f64,
) -> Tensor2<E, Cpu, T> {
    let (q_src, mut tape) = q_src.contiguous().split_tape();
    let kv_src = kv_src.map(|kv| {
        let (kv, kv_tape) = kv.contiguous().split_tape();
        tape = std::mem::take(&mut tape).merge(kv_tape);
        kv
    });
    let (nq, wq) = *q_src.shape();
    let (nk, wkv) = *kv_src.as_ref().unwrap_or(&q_src).shape();
    let (b, h, c) = (l.batch, l.heads, l.width);
    let (dh, tq, tk) = (c / h, nq / b, nk / b);
    assert!(tq <= tk && c % h == 0 && nq == b * tq && nk == b * tk);
    assert!(l.q_col + c <= wq && l.k_col + c <= wkv && l.v_col + c <= wkv);
    let geo = Geometry { h, dh, tq, tk, wq, wkv, l };
    let scale = E::from_f64(1.0 / (dh as f64).sqrt()).unwrap();
    let dev = q_src.device().clone();
    let mask =
        if dropout > 0.0 { DropMask::new(dropout, crate::backend::ops::draws::dropout_seed(&dev)) } else { None };
    // One copy when q, k and v come from one tensor (the full-attention qkv).
    let qs = to_host(&q_src);
    let kvs_own = kv_src.as_ref().map(to_host);
    let kvs: &[E] = kvs_own.as_deref().unwrap_or(&qs);
    let rope_tables = rope.map(|r| {
        let (cos, sin) = r.tables();
        (to_host(cos), to_host(sin))
    });
    let tables = rope_tables.as_ref().map(|(c, s)| (c.as_slice(), s.as_slice()));

    let mut probs = zeros(b * h * tq * tk);
    let mut y = zeros(nq * c);
    y.par_chunks_mut(tq * c).zip(probs.par_chunks_mut(h * tq * tk)).enumerate().for_each(|(bi, (yb, pb))| {
        vectorized(
            #[inline(always)]
            || {
                let mut qh = vec![E::zero(); tq * dh];
                let mut kh = vec![E::zero(); tk * dh];
                let mut pd = vec![E::zero(); if mask.is_some() { tq * tk } else { 0 }];
                for hi in 0..h {
                    geo.load_q(&qs, bi, hi, tables, &mut qh);
                    geo.load_k(kvs, bi, hi, tables, &mut kh);
                    let p = &mut pb[hi * tq * tk..(hi + 1) * tq * tk];
                    // S = Q K^T  [Tq, Tk]
                    matmul(
                        (tq, dh, tk),
                        &qh,
                        View::rows(0, dh),
                        &kh,
                        View::rows(0, dh).t(),
                        p,
                        View::rows(0, tk),
                        false,
                    );
                    for (i, row) in p.chunks_mut(tk).enumerate() {
                        softmax_row(row, i + tk - tq + 1, scale);
                    }
                    let pv: &[E] = match mask {
                        Some(m) => {
                            geo.drop_and_mark(m, bi, hi, p, &mut pd);
                            &pd
                        }
                        None => p,
                    };
                    // Y_h = P V  [Tq, Dh], written into this head's columns.
                    matmul(
                        (tq, tk, dh),
                        pv,
                        View::rows(0, tk),
                        kvs,
                        geo.v_view(bi, hi),
                        yb,
                        View::rows(hi * dh, c),
                        false,
                    );
                }
            },
        )
    });

    // S = Q K^T and Y = P V for every sequence and head.
    ops::count::record_matmul(b * h, tq, dh, tk);
    ops::count::record_matmul(b * h, tq, tk, dh);
    let out = dev.tensor_from_vec(y, (nq, c));
    let out_ref = out.clone();
    tape.add_backward_op(move |grads| {
        let tables = rope_tables.as_ref().map(|(c, s)| (c.as_slice(), s.as_slice()));
        let kvs: &[E] = kvs_own.as_deref().unwrap_or(&qs);
        with_grad_out(grads, &out_ref, |gy, grads| {
            // Per-sequence gradients in [rows, C] layout, added into the inputs' columns after.
            let mut dq = zeros(nq * c);
            let mut dk = zeros(nk * c);
            let mut dv = zeros(nk * c);
            let chunks = dq.par_chunks_mut(tq * c).zip(dk.par_chunks_mut(tk * c)).zip(dv.par_chunks_mut(tk * c));
            chunks.enumerate().for_each(|(bi, ((dqb, dkb), dvb))| {
                vectorized(
                    #[inline(always)]
                    || {
                        let mut qh = vec![E::zero(); tq * dh];
                        let mut kh = vec![E::zero(); tk * dh];
                        let mut pd = vec![E::zero(); if mask.is_some() { tq * tk } else { 0 }];
                        let mut p_abs = vec![E::zero(); if mask.is_some() { tq * tk } else { 0 }];
                        let mut dp = vec![E::zero(); tq * tk];
                        let mut dqr = vec![E::zero(); tq * dh];
                        let mut dkr = vec![E::zero(); tk * dh];
                        let gy_view = |hi: usize| View::rows(bi * tq * c + hi * dh, c);
                        for hi in 0..h {
                            geo.load_q(&qs, bi, hi, tables, &mut qh);
                            geo.load_k(kvs, bi, hi, tables, &mut kh);
                            let base = geo.prob_base(bi, hi);
                            let saved = &probs[base..base + tq * tk];
                            // With dropout the saved values are sign-marked: |x| = P, x > 0 = kept.
                            let (p, pv): (&[E], &[E]) = match mask {
                                Some(m) => {
                                    let s = E::from_f64(m.scale).unwrap();
                                    for ((a, d), &x) in p_abs.iter_mut().zip(pd.iter_mut()).zip(saved) {
                                        *a = x.abs();
                                        *d = if x > E::zero() { x * s } else { E::zero() };
                                    }
                                    (&p_abs, &pd)
                                }
                                None => (saved, saved),
                            };
                            // dV = Pd^T dY  [Tk, Dh]
                            matmul(
                                (tk, tq, dh),
                                pv,
                                View::rows(0, tk).t(),
                                gy,
                                gy_view(hi),
                                dvb,
                                View::rows(hi * dh, c),
                                false,
                            );
                            // dPd = dY V^T  [Tq, Tk]
                            matmul(
                                (tq, dh, tk),
                                gy,
                                gy_view(hi),
                                kvs,
                                geo.v_view(bi, hi).t(),
                                &mut dp,
                                View::rows(0, tk),
                                false,
                            );
                            if let Some(m) = mask {
                                let s = E::from_f64(m.scale).unwrap();
                                dp.iter_mut()
                                    .zip(saved)
                                    .for_each(|(d, &x)| *d = if x > E::zero() { *d * s } else { E::zero() });
                            }
                            // dS = scale * P * (dP - rowsum(P dP)), in place; masked entries 0.
                            for (i, (dr, pr)) in dp.chunks_mut(tk).zip(p.chunks(tk)).enumerate() {
                                softmax_grad_row(dr, pr, i + tk - tq + 1, scale);
                            }
                            // dQ = dS K, dK = dS^T Q (both in rotated space), then RoPE's transpose.
                            matmul(
                                (tq, tk, dh),
                                &dp,
                                View::rows(0, tk),
                                &kh,
                                View::rows(0, dh),
                                &mut dqr,
                                View::rows(0, dh),
                                false,
                            );
                            matmul(
                                (tk, tq, dh),
                                &dp,
                                View::rows(0, tk).t(),
                                &qh,
                                View::rows(0, dh),
                                &mut dkr,
                                View::rows(0, dh),
                                false,
                            );
                            store_unrotated(&dqr, tk - tq, dh, tables, dqb, hi * dh, c);
                            store_unrotated(&dkr, 0, dh, tables, dkb, hi * dh, c);
                        }
                    },
                )
            });
            let gq = grads.get_or_alloc_mut(&q_src)?;
            gq.par_chunks_mut(wq).zip(dq.par_chunks(c)).for_each(|(g, d)| {
                g[l.q_col..l.q_col + c].iter_mut().zip(d).for_each(|(g, &d)| *g += d);
            });
            let gkv = grads.get_or_alloc_mut(kv_src.as_ref().unwrap_or(&q_src))?;
            gkv.par_chunks_mut(wkv).zip(dk.par_chunks(c)).zip(dv.par_chunks(c)).for_each(|((g, dkr), dvr)| {
                g[l.k_col..l.k_col + c].iter_mut().zip(dkr).for_each(|(g, &d)| *g += d);
                g[l.v_col..l.v_col + c].iter_mut().zip(dvr).for_each(|(g, &d)| *g += d);
            });
            Ok(())
        })
    });
    out.put_tape(tape)
}

/// Index arithmetic shared by forward and backward.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    h: usize,
    dh: usize,
    tq: usize,
    tk: usize,
    wq: usize,
    wkv: usize,
    l: AttnLayout,
}

impl Geometry {
    /// Q rows of sequence `bi`, head `hi`, rotated to positions `Tk - Tq ..`.
    #[inline(always)]
    fn load_q<E: Real>(&self, qs: &[E], bi: usize, hi: usize, tables: Option<(&[E], &[E])>, dst: &mut [E]) {
        let start = bi * self.tq * self.wq + self.l.q_col + hi * self.dh;
        load_rotated(qs, start, self.wq, self.tk - self.tq, self.dh, tables, dst);
    }

    #[inline(always)]
    fn load_k<E: Real>(&self, kvs: &[E], bi: usize, hi: usize, tables: Option<(&[E], &[E])>, dst: &mut [E]) {
        let start = bi * self.tk * self.wkv + self.l.k_col + hi * self.dh;
        load_rotated(kvs, start, self.wkv, 0, self.dh, tables, dst);
    }

    fn v_view(&self, bi: usize, hi: usize) -> View {
        View::rows(bi * self.tk * self.wkv + self.l.v_col + hi * self.dh, self.wkv)
    }

    /// Global index of the first probability of (bi, hi), for the dropout hash.
    fn prob_base(&self, bi: usize, hi: usize) -> usize {
        (bi * self.h + hi) * self.tq * self.tk
    }

    /// `dst = p * mask * s` over each row's visible prefix (the rest is 0), and marks dropped
    /// entries of `p` by negating them, so that backward recovers the mask without rehashing.
    #[inline(always)]
    fn drop_and_mark<E: Real>(&self, m: DropMask, bi: usize, hi: usize, p: &mut [E], dst: &mut [E]) {
        let base = self.prob_base(bi, hi);
        for (i, (pr, dr)) in p.chunks_mut(self.tk).zip(dst.chunks_mut(self.tk)).enumerate() {
            let n = i + self.tk - self.tq + 1;
            dr[..n].copy_from_slice(&pr[..n]);
            m.apply(base + i * self.tk, &mut dr[..n]);
            dr[n..].iter_mut().for_each(|d| *d = E::zero());
            for (p, &d) in pr[..n].iter_mut().zip(&dr[..n]) {
                if d == E::zero() {
                    *p = -*p;
                }
            }
        }
    }
}

/// `dst[i] = rope(src[start + i * stride ..][..dh], position pos0 + i)` for every row of `dst`.
#[inline(always)]
fn load_rotated<E: Real>(
    src: &[E],
    start: usize,
    stride: usize,
    pos0: usize,
    dh: usize,
    tables: Option<(&[E], &[E])>,
    dst: &mut [E],
) {
    let half = dh / 2;
    for (i, d) in dst.chunks_mut(dh).enumerate() {
        let x = &src[start + i * stride..start + i * stride + dh];
        match tables {
            None => d.copy_from_slice(x),
            Some((cos, sin)) => {
                let (cos, sin) = (&cos[(pos0 + i) * dh..][..dh], &sin[(pos0 + i) * dh..][..dh]);
                for j in 0..half {
                    d[j] = x[j] * cos[j] - x[j + half] * sin[j];
                    d[j + half] = x[j + half] * cos[j + half] + x[j] * sin[j + half];
                }
            }
        }
    }
}

/// `dst[i, col..col+dh] = rope^T(src[i])` at positions `pos0 + i` (the gradient of
/// [`load_rotated`]): `dx[j] = d[j] cos[j] + d[j+h] sin[j+h]`, `dx[j+h] = d[j+h] cos[j+h] - d[j] sin[j]`.
#[inline(always)]
fn store_unrotated<E: Real>(
    src: &[E],
    pos0: usize,
    dh: usize,
    tables: Option<(&[E], &[E])>,
    dst: &mut [E],
    col: usize,
    stride: usize,
) {
    let half = dh / 2;
    for (i, d) in src.chunks(dh).enumerate() {
        let x = &mut dst[i * stride + col..i * stride + col + dh];
        match tables {
            None => x.copy_from_slice(d),
            Some((cos, sin)) => {
                let (cos, sin) = (&cos[(pos0 + i) * dh..][..dh], &sin[(pos0 + i) * dh..][..dh]);
                for j in 0..half {
                    x[j] = d[j] * cos[j] + d[j + half] * sin[j + half];
                    x[j + half] = d[j + half] * cos[j + half] - d[j] * sin[j];
                }
            }
        }
    }
}

/// In place: `row[..visible] = softmax(scale * row[..visible])`, the rest 0.
#[inline(always)]
pub(super) fn softmax_row<E: Real>(row: &mut [E], visible: usize, scale: E) {
    let (seen, masked) = row.split_at_mut(visible);
    let m = max(seen) * scale;
    seen.iter_mut().for_each(|s| *s = (*s * scale - m).exp_fn());
    let sum = sum_by(seen, |s| s);
    let inv = sum.recip();
    seen.iter_mut().for_each(|p| *p *= inv);
    masked.iter_mut().for_each(|p| *p = E::zero());
}

/// In place: `row[..visible] = scale * p * (row - sum(p * row))` (the softmax's backward from
/// the probabilities' gradient to the scores'), the rest 0.
#[inline(always)]
pub(super) fn softmax_grad_row<E: Real>(row: &mut [E], p: &[E], visible: usize, scale: E) {
    let (seen, masked) = row.split_at_mut(visible);
    let dot = sum_by2(p, seen, |p, d| p * d);
    seen.iter_mut().zip(p).for_each(|(d, &p)| *d = scale * p * (*d - dot));
    masked.iter_mut().for_each(|d| *d = E::zero());
}
