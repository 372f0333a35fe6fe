//! Layer norm over the last axis with affine gain and bias (`nn.LayerNorm`), optionally of a
//! residual sum `x + r` (post-LN blocks), so the sum is never materialised as a tensor.
//!
//! Forward per row: `xhat = (x - mean) * rstd`, `rstd = 1/sqrt(var + eps)` (biased variance),
//! `y = xhat * gamma + beta`. Backward per row, with `g = dy * gamma`:
//! `dx = rstd * (g - mean(g) - xhat * mean(g * xhat))` (also `dr` for the residual);
//! `dgamma = sum_rows dy * xhat`, `dbeta = sum_rows dy`.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::simd::{add_assign, par_add_assign, sum_by, sum_by2, vectorized};
use super::{Real, column_sums, rows_per_task, to_host, with_grad_out, zeros};
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
    let eps = E::from_f64(eps).unwrap();
    let g = to_host(gamma);
    let b = to_host(beta);
    let rows = rows_per_task(c);

    // xhat (kept for backward) starts as the input, or the residual sum.
    let mut xhat = to_host(&x);
    let rs = r.as_ref().map(to_host);
    let mut rstd = vec![E::zero(); n];
    let mut y = zeros(n * c);
    let chunks = xhat.par_chunks_mut(c * rows).zip(y.par_chunks_mut(c * rows)).zip(rstd.par_chunks_mut(rows));
    chunks.enumerate().for_each(|(ci, ((xs, ys), rstds))| {
        let (rs, g, b) = (rs.as_ref().map(|rs| &rs[ci * c * rows..]), &g[..], &b[..]);
        vectorized(
            #[inline(always)]
            move || normalize_rows(xs, rs, ys, rstds, g, b, eps),
        )
    });

    let out = x.device().tensor_from_vec(y, (n, c));
    let out_ref = out.clone();
    let (gamma, beta) = (gamma.clone(), beta.clone());
    tape.add_backward_op(move |grads| {
        with_grad_out(grads, &out_ref, |dy, grads| {
            // dx += rstd * (g - mean(g) - xhat * mean(g * xhat)), rows in parallel.
            let add_input_grad = |dx: &mut [E]| {
                let chunks = dx.par_chunks_mut(c * rows).zip(xhat.par_chunks(c * rows));
                let chunks = chunks.zip(dy.par_chunks(c * rows)).zip(rstd.par_chunks(rows));
                chunks.for_each(|(((dxs, xs), dys), rs)| {
                    let mut scratch = vec![E::zero(); c];
                    vectorized(
                        #[inline(always)]
                        || input_grad_rows(dxs, xs, dys, rs, &g, &mut scratch),
                    )
                });
            };
            match &r {
                None => add_input_grad(grads.get_or_alloc_mut(&x)?),
                Some(r) => {
                    // x and r get the same gradient.
                    let mut dx = zeros(n * c);
                    add_input_grad(&mut dx);
                    for input in [&x, r] {
                        par_add_assign(grads.get_or_alloc_mut(input)?, &dx);
                    }
                }
            }
            let dgb = column_sums(n, 2 * c, |row, acc| {
                let (xr, dyr) = (&xhat[row * c..(row + 1) * c], &dy[row * c..(row + 1) * c]);
                let (dg, db) = acc.split_at_mut(c);
                dg.iter_mut().zip(dyr).zip(xr).for_each(|((a, &dy), &x)| *a += dy * x);
                add_assign(db, dyr);
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

/// Rows of `xs` (plus `rs`) normalised in place into `xhat`, `y = xhat * g + b`, and each row's
/// `rstd`. A function of slices, so that the loops see no aliasing and vectorise.
#[inline(always)]
fn normalize_rows<E: Real>(xs: &mut [E], rs: Option<&[E]>, ys: &mut [E], rstds: &mut [E], g: &[E], b: &[E], eps: E) {
    let c = g.len();
    let inv_c = E::from_usize(c).unwrap().recip();
    if let Some(rs) = rs {
        add_assign(xs, rs);
    }
    for ((xr, yr), rstd) in xs.chunks_mut(c).zip(ys.chunks_mut(c)).zip(rstds) {
        let mean = sum_by(xr, |v| v) * inv_c;
        let var = sum_by(xr, |v| (v - mean) * (v - mean)) * inv_c;
        let r = (var + eps).sqrt().recip();
        for (((x, y), &g), &b) in xr.iter_mut().zip(yr).zip(g).zip(b) {
            *x = (*x - mean) * r;
            *y = *x * g + b;
        }
        *rstd = r;
    }
}

/// `dx += rstd * (gy - mean(gy) - xhat * mean(gy * xhat))` per row, with `gy = dy * g`
/// (`scratch` holds one row of it).
#[inline(always)]
fn input_grad_rows<E: Real>(dxs: &mut [E], xs: &[E], dys: &[E], rstds: &[E], g: &[E], scratch: &mut [E]) {
    let c = g.len();
    let inv_c = E::from_usize(c).unwrap().recip();
    for (((dxr, xr), dyr), &r) in dxs.chunks_mut(c).zip(xs.chunks(c)).zip(dys.chunks(c)).zip(rstds) {
        scratch.iter_mut().zip(dyr).zip(g).for_each(|((gy, &dy), &g)| *gy = dy * g);
        let mg = sum_by(scratch, |v| v) * inv_c;
        let mgx = sum_by2(scratch, xr, |gy, x| gy * x) * inv_c;
        for ((dx, &gy), &x) in dxr.iter_mut().zip(&*scratch).zip(xr) {
            *dx += r * (gy - mg - x * mgx);
        }
    }
}
