//! Scaled, causally masked softmax over the last axis (attention probabilities), with dropout.
//!
//! Forward per row: `p_j = exp(scale*s_j - m) / sum` for visible `j`, 0 for masked `j`; output
//! `p * mask * s`. Backward per row, with `dp = dy * mask * s`:
//! `ds_j = scale * p_j * (dp_j - sum_k p_k dp_k)`. Masked entries get no gradient and are never
//! read past the visible prefix.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::rng::DropMask;
use super::simd::{add_assign, vectorized};
use super::{Real, rows_per_task, to_host, with_grad_out};
use crate::backend::Tensor4;

pub fn softmax_causal<E: Real, T: Tape<E, Cpu>>(
    scores: Tensor4<E, Cpu, T>, // [B, H, Tq, Tk]
    scale: f64,
    dropout: f64,
) -> Tensor4<E, Cpu, T> {
    let mask = if dropout > 0.0 {
        DropMask::new(dropout, crate::backend::ops::draws::dropout_seed(scores.device()))
    } else {
        None
    };
    let (scores, mut tape) = scores.contiguous().split_tape();
    let shape = *scores.shape();
    let (_, _, tq, tk) = shape;
    let offset = tk - tq;
    let scale_e = E::from_f64(scale).unwrap();
    // Query row r sees keys 0..=visible(r).
    let visible = move |row: usize| (row % tq) + offset;

    let mut probs = to_host(&scores);
    let chunk = tk * rows_per_task(tk);
    probs.par_chunks_mut(chunk).enumerate().for_each(|(ci, block)| {
        let first_row = ci * chunk / tk;
        vectorized(
            #[inline(always)]
            || {
                for (i, row) in block.chunks_mut(tk).enumerate() {
                    super::attention::softmax_row(row, visible(first_row + i) + 1, scale_e);
                }
            },
        )
    });

    let saved = if T::OWNS_TAPE { probs.clone() } else { Vec::new() };
    if let Some(m) = mask {
        probs.par_chunks_mut(chunk).enumerate().for_each(|(ci, ps)| m.apply(ci * chunk, ps));
    }
    let out = scores.device().tensor_from_vec(probs, shape);
    let out_ref = out.clone();
    tape.add_backward_op(move |grads| {
        with_grad_out(grads, &out_ref, |g_out, grads| {
            let g_in = grads.get_or_alloc_mut(&scores)?;
            g_in.par_chunks_mut(chunk).zip(saved.par_chunks(chunk)).zip(g_out.par_chunks(chunk)).enumerate().for_each(
                |(ci, ((gi, p), go))| {
                    let first_row = ci * chunk / tk;
                    let mut dp = vec![E::zero(); tk];
                    let rows = gi.chunks_mut(tk).zip(p.chunks(tk)).zip(go.chunks(tk));
                    vectorized(
                        #[inline(always)]
                        || {
                            for (i, ((gi, p), go)) in rows.enumerate() {
                                let n = visible(first_row + i) + 1;
                                let row_start = ci * chunk + i * tk;
                                dp[..n].copy_from_slice(&go[..n]);
                                if let Some(m) = mask {
                                    m.apply(row_start, &mut dp[..n]);
                                }
                                super::attention::softmax_grad_row(&mut dp, p, n, scale_e);
                                add_assign(&mut gi[..n], &dp[..n]);
                            }
                        },
                    )
                },
            );
            Ok(())
        })
    });
    out.put_tape(tape)
}
