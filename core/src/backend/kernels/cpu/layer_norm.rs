//! Layer norm over the last axis with affine gain and bias (`nn.LayerNorm`), optionally of a
//! residual sum `x + r` (post-LN blocks), so the sum is never materialised as a tensor.
//!
//! Forward per row: `xhat = (x - mean) * rstd`, `rstd = 1/sqrt(var + eps)` (biased variance),
//! `y = xhat * gamma + beta`. Backward per row, with `g = dy * gamma`:
//! `dx = rstd * (g - mean(g) - xhat * mean(g * xhat))` (also `dr` for the residual);
//! `dgamma = sum_rows dy * xhat`, `dbeta = sum_rows dy`.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::{Real, column_sums, rows_per_task, to_host, with_grad_out};
use crate::backend::{Tensor1, Tensor2};

/// `layer_norm(x)`.
pub fn layer_norm<E: Real, T: Tape<E, Cpu>>(
    x: Tensor2<E, Cpu, T>,   // [N, C]
    gamma: &Tensor1<E, Cpu>, // [C]
    beta: &Tensor1<E, Cpu>,  // [C]
    eps: f64,
) -> Tensor2<E, Cpu, T> {
    norm(x, None, gamma, beta, eps)
}

/// `layer_norm(x + r)`.
pub fn add_layer_norm<E: Real, T: Tape<E, Cpu>>(
    x: Tensor2<E, Cpu, T>,   // [N, C]
    r: Tensor2<E, Cpu, T>,   // [N, C]
    gamma: &Tensor1<E, Cpu>, // [C]
    beta: &Tensor1<E, Cpu>,  // [C]
    eps: f64,
) -> Tensor2<E, Cpu, T> {
    norm(x, Some(r), gamma, beta, eps)
}

fn norm<E: Real, T: Tape<E, Cpu>>(
    x: Tensor2<E, Cpu, T>,
    r: Option<Tensor2<E, Cpu, T>>,
    gamma: &Tensor1<E, Cpu>,
    beta: &Tensor1<E, Cpu>,
    eps: f64,
) -> Tensor2<E, Cpu, T> {
    let (x, mut tape) = x.contiguous().split_tape();
    let (n, c) = *x.shape();
    let r = r.map(|r| {
        assert_eq!(*r.shape(), (n, c), "residual shape");
        let (r, r_tape) = r.contiguous().split_tape();
        tape = std::mem::take(&mut tape).merge(r_tape);
        r
    });
    let inv_c = E::from_usize(c).unwrap().recip();
    let eps = E::from_f64(eps).unwrap();
    let g = to_host(gamma);
    let b = to_host(beta);
    let rows = rows_per_task(c);

    // xhat (kept for backward) starts as the input, or the residual sum.
    let mut xhat = to_host(&x);
    if let Some(r) = &r {
        let rs = to_host(r);
        xhat.par_chunks_mut(c * rows).zip(rs.par_chunks(c * rows)).for_each(|(a, b)| {
            a.iter_mut().zip(b).for_each(|(a, &b)| *a += b);
        });
    }
    let mut rstd = vec![E::zero(); n];
    let mut y = vec![E::zero(); n * c];
    xhat.par_chunks_mut(c * rows).zip(y.par_chunks_mut(c * rows)).zip(rstd.par_chunks_mut(rows)).for_each(
        |((xs, ys), rs)| {
            for ((xr, yr), r) in xs.chunks_mut(c).zip(ys.chunks_mut(c)).zip(rs.iter_mut()) {
                let mean = xr.iter().fold(E::zero(), |a, &v| a + v) * inv_c;
                let var = xr.iter().fold(E::zero(), |a, &v| a + (v - mean) * (v - mean)) * inv_c;
                *r = (var + eps).sqrt().recip();
                for j in 0..c {
                    xr[j] = (xr[j] - mean) * *r;
                    yr[j] = xr[j] * g[j] + b[j];
                }
            }
        },
    );

    let out = x.device().tensor_from_vec(y, (n, c));
    let out_ref = out.clone();
    let (gamma, beta) = (gamma.clone(), beta.clone());
    tape.add_backward_op(move |grads| {
        with_grad_out(grads, &out_ref, |dy, grads| {
            // The input gradient, accumulated into x (and r) afterwards.
            let mut dx = vec![E::zero(); n * c];
            dx.par_chunks_mut(c * rows)
                .zip(xhat.par_chunks(c * rows))
                .zip(dy.par_chunks(c * rows))
                .zip(rstd.par_chunks(rows))
                .for_each(|(((dxs, xs), dys), rs)| {
                    let rows = dxs.chunks_mut(c).zip(xs.chunks(c)).zip(dys.chunks(c)).zip(rs);
                    for (((dxr, xr), dyr), &r) in rows {
                        let (mut mg, mut mgx) = (E::zero(), E::zero());
                        for j in 0..c {
                            let gj = dyr[j] * g[j];
                            mg += gj;
                            mgx += gj * xr[j];
                        }
                        mg *= inv_c;
                        mgx *= inv_c;
                        for j in 0..c {
                            dxr[j] = r * (dyr[j] * g[j] - mg - xr[j] * mgx);
                        }
                    }
                });
            for input in std::iter::once(&x).chain(r.as_ref()) {
                let gi = grads.get_or_alloc_mut(input)?;
                gi.par_chunks_mut(c * rows).zip(dx.par_chunks(c * rows)).for_each(|(a, d)| {
                    a.iter_mut().zip(d).for_each(|(a, &d)| *a += d);
                });
            }
            let dgb = column_sums(n, 2 * c, |row, acc| {
                let (xr, dyr) = (&xhat[row * c..(row + 1) * c], &dy[row * c..(row + 1) * c]);
                for j in 0..c {
                    acc[j] += dyr[j] * xr[j];
                    acc[c + j] += dyr[j];
                }
            });
            let dg = grads.get_or_alloc_mut(&gamma)?;
            dg.iter_mut().zip(&dgb[..c]).for_each(|(a, &v)| *a += v);
            let db = grads.get_or_alloc_mut(&beta)?;
            db.iter_mut().zip(&dgb[c..]).for_each(|(a, &v)| *a += v);
            Ok(())
        })
    });
    out.put_tape(tape)
}
