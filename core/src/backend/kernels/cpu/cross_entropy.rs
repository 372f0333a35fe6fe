//! Mean cross-entropy of logits against integer targets, in one pass per row.
//! Forward: `loss = mean_rows(lse(x) - x[target])`. Backward: `dx = g/M * (softmax(x) - onehot)`.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::simd::{max, sum_by, vectorized};
use super::{Real, rows_per_task, to_host, with_grad_out};
use crate::backend::{Tensor1, Tensor2};

pub fn cross_entropy<E: Real, T: Tape<E, Cpu>>(
    logits: Tensor2<E, Cpu, T>,    // [M, V]
    targets: &Tensor1<usize, Cpu>, // [M]
) -> Tensor<Rank0, E, Cpu, T> {
    let (logits, mut tape) = logits.contiguous().split_tape();
    let (m, v) = *logits.shape();
    assert_eq!(targets.shape().0, m, "one target per row");
    let tgt = targets.as_vec();
    assert!(tgt.iter().all(|&t| t < v), "target out of range for {v} classes");
    let x = to_host(&logits);
    let rows = rows_per_task(v);

    // Per-row log-sum-exp, kept for the backward pass.
    let mut lse = vec![E::zero(); m];
    lse.par_chunks_mut(rows).zip(x.par_chunks(v * rows)).for_each(|(ls, xs)| {
        vectorized(
            #[inline(always)]
            || {
                for (l, xr) in ls.iter_mut().zip(xs.chunks(v)) {
                    let mx = max(xr);
                    *l = mx + sum_by(xr, |x| (x - mx).exp_fn()).ln();
                }
            },
        )
    });
    // Summed in row order so the loss does not depend on the thread count.
    let total = (0..m).fold(E::zero(), |a, r| a + lse[r] - x[r * v + tgt[r]]);
    let inv_m = E::from_usize(m).unwrap().recip();
    let out = logits.device().tensor_from_vec(vec![total * inv_m], ());

    let out_ref = out.clone();
    tape.add_backward_op(move |grads| {
        with_grad_out(grads, &out_ref, |g, grads| {
            let scale = g[0] * inv_m;
            let dx = grads.get_or_alloc_mut(&logits)?;
            dx.par_chunks_mut(v * rows).zip(x.par_chunks(v * rows)).enumerate().for_each(|(ci, (ds, xs))| {
                vectorized(
                    #[inline(always)]
                    || {
                        for (i, (dr, xr)) in ds.chunks_mut(v).zip(xs.chunks(v)).enumerate() {
                            let r = ci * rows + i;
                            add_scaled_softmax(dr, xr, lse[r], scale);
                            dr[tgt[r]] -= scale;
                        }
                    },
                )
            });
            Ok(())
        })
    });
    out.put_tape(tape)
}

/// `d += scale * softmax(x)`, the softmax given by its log-sum-exp.
#[inline(always)]
fn add_scaled_softmax<E: Real>(d: &mut [E], x: &[E], lse: E, scale: E) {
    d.iter_mut().zip(x).for_each(|(d, &x)| *d += scale * (x - lse).exp_fn());
}
