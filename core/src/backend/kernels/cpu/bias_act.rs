//! `dropout(act(x + b))`: the bias add, activation and dropout after a matmul, in one pass.
//! Backward: `dpre = dy * act'(x + b) * mask * s`, `dx += dpre`, `db += sum_rows dpre`; the
//! stored slope already includes `mask * s`, so dropout costs nothing extra in backward.
//! [`Epilogue`] is shared with the fused linear layer.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::rng::DropMask;
use super::simd::{par_add_assign, vectorized};
use super::{Real, column_sums, rows_per_task, to_host, with_grad_out, zeros};
use crate::backend::ops::Activation;
use crate::backend::{Tensor1, Tensor2};

pub fn bias_act<E: Real, T: Tape<E, Cpu> + Merge<R>, R: Tape<E, Cpu>>(
    x: Tensor2<E, Cpu, T>,    // [N, F]
    bias: Tensor1<E, Cpu, R>, // [F]
    act: Activation,
    dropout: f64,
) -> Tensor2<E, Cpu, T> {
    let mask =
        if dropout > 0.0 { DropMask::new(dropout, crate::backend::ops::draws::dropout_seed(x.device())) } else { None };
    let (x, tape) = x.contiguous().split_tape();
    // A taped bias (a slice of a parameter) brings its own ops; they join this op's tape.
    let (bias, bias_tape) = bias.split_tape();
    let mut tape = tape.merge(bias_tape);
    let (n, f) = *x.shape();
    let b = to_host(&bias);
    let mut y = to_host(&x);
    let epi = Epilogue::forward(&mut y, f, &b, act, mask, T::OWNS_TAPE);

    let out = x.device().tensor_from_vec(y, (n, f));
    let out_ref = out.clone();
    tape.add_backward_op(move |grads| {
        with_grad_out(grads, &out_ref, |dy, grads| {
            let dpre = epi.dpre(dy);
            let dpre: &[E] = dpre.as_deref().unwrap_or(dy);
            par_add_assign(grads.get_or_alloc_mut(&x)?, dpre);
            let db = grads.get_or_alloc_mut(&bias)?;
            add_column_sums(dpre, f, db);
            Ok(())
        })
    });
    out.put_tape(tape)
}

/// `acc[j] += sum_rows d[row, j]` (deterministic block order).
pub(crate) fn add_column_sums<E: Real>(d: &[E], f: usize, acc: &mut [E]) {
    let sums = column_sums(d.len() / f, f, |r, a| {
        a.iter_mut().zip(&d[r * f..(r + 1) * f]).for_each(|(a, &v)| *a += v);
    });
    acc.iter_mut().zip(&sums).for_each(|(a, &v)| *a += v);
}

/// The saved state of `dropout(act(y + b))` applied in place: the slope
/// `act'(y + b) * mask * s`, or nothing when it is all ones (identity, no dropout).
pub(crate) struct Epilogue<E> {
    slope: Option<Vec<E>>,
    width: usize,
}

impl<E: Real> Epilogue<E> {
    /// Applies the epilogue to `y` (`[rows, f]`) in place, rows in parallel.
    pub fn forward(y: &mut [E], f: usize, b: &[E], act: Activation, mask: Option<DropMask>, keep: bool) -> Self {
        let rows = rows_per_task(f);
        let keep_slope = keep && (act != Activation::Identity || mask.is_some());
        let mut slope = zeros(if keep_slope { y.len() } else { 0 });
        let mut slope_chunks: Vec<&mut [E]> = if keep_slope {
            slope.chunks_mut(f * rows).collect()
        } else {
            (0..y.len().div_ceil(f * rows)).map(|_| &mut [][..]).collect()
        };
        y.par_chunks_mut(f * rows).zip(slope_chunks.par_iter_mut()).enumerate().for_each(|(ci, (ys, ss))| {
            let mut k = vec![E::zero(); if mask.is_some() { f } else { 0 }];
            let ss = if keep_slope { Some(&mut **ss) } else { None };
            vectorized(
                #[inline(always)]
                || epilogue_rows(ys, ss, &mut k, b, act, mask, ci * rows * f),
            )
        });
        drop(slope_chunks);
        Self { slope: keep_slope.then_some(slope), width: f }
    }

    /// `dy * slope` (consuming the slope buffer), or `None` when that is `dy` itself.
    pub fn dpre(self, dy: &[E]) -> Option<Vec<E>> {
        let mut d = self.slope?;
        let chunk = self.width * rows_per_task(self.width);
        d.par_chunks_mut(chunk).zip(dy.par_chunks(chunk)).for_each(|(d, g)| {
            vectorized(
                #[inline(always)]
                || d.iter_mut().zip(g).for_each(|(d, &g)| *d *= g),
            )
        });
        Some(d)
    }
}

/// `dropout(act(y + b))` in place over whole rows of `ys` (global element `first` onwards), and
/// the slope if asked; `k` is one row of scratch (dropout only).
#[inline(always)]
fn epilogue_rows<E: Real>(
    ys: &mut [E],
    mut slope: Option<&mut [E]>,
    k: &mut [E],
    b: &[E],
    act: Activation,
    mask: Option<DropMask>,
    first: usize,
) {
    let f = b.len();
    for (r, yr) in ys.chunks_mut(f).enumerate() {
        let sr = slope.as_deref_mut().map(|s| &mut s[r * f..(r + 1) * f]);
        activate_row(act, yr, b, sr);
        if let Some(m) = mask {
            // k = mask * s for this row, applied to the output and the slope.
            k.fill(E::one());
            m.apply(first + r * f, k);
            yr.iter_mut().zip(&*k).for_each(|(y, &k)| *y *= k);
            if let Some(s) = slope.as_deref_mut() {
                s[r * f..(r + 1) * f].iter_mut().zip(&*k).for_each(|(s, &k)| *s *= k);
            }
        }
    }
}

/// In place `y = act(y + b)` over one row, and the slope `act'(y + b)` if asked. One loop per
/// activation so that they vectorise (GELU's `erf` and `exp` are branch-free and inline).
#[inline(always)]
fn activate_row<E: Real>(act: Activation, y: &mut [E], b: &[E], slope: Option<&mut [E]>) {
    let half = E::from_f64(0.5).unwrap();
    let rsqrt2 = E::from_f64(std::f64::consts::FRAC_1_SQRT_2).unwrap();
    let rsqrt2pi = E::from_f64(0.398_942_280_401_432_7).unwrap(); // 1/sqrt(2 pi)
    match (act, slope) {
        (Activation::Identity, s) => {
            y.iter_mut().zip(b).for_each(|(y, &b)| *y += b);
            // Only stored when dropout will scale it.
            if let Some(s) = s {
                s.fill(E::one());
            }
        }
        (Activation::Relu, None) => y.iter_mut().zip(b).for_each(|(y, &b)| *y = (*y + b).max(E::zero())),
        (Activation::Relu, Some(s)) => {
            for ((y, s), &b) in y.iter_mut().zip(s.iter_mut()).zip(b) {
                let v = *y + b;
                (*y, *s) = if v > E::zero() { (v, E::one()) } else { (E::zero(), E::zero()) };
            }
        }
        (Activation::Tanh, mut s) => {
            for (j, (y, &b)) in y.iter_mut().zip(b).enumerate() {
                let t = (*y + b).tanh();
                *y = t;
                if let Some(s) = s.as_deref_mut() {
                    s[j] = E::one() - t * t;
                }
            }
        }
        (Activation::Silu, mut s) => {
            for (j, (y, &b)) in y.iter_mut().zip(b).enumerate() {
                let x = *y + b;
                let sig = E::one() / (E::one() + (-x).exp());
                *y = x * sig;
                if let Some(s) = s.as_deref_mut() {
                    s[j] = sig * (E::one() + x * (E::one() - sig));
                }
            }
        }
        (Activation::Gelu, None) => {
            for (y, &b) in y.iter_mut().zip(b) {
                let x = *y + b;
                *y = x * (half * (E::one() + (x * rsqrt2).erf_fn()));
            }
        }
        (Activation::Gelu, Some(s)) => {
            for ((y, s), &b) in y.iter_mut().zip(s).zip(b) {
                let x = *y + b;
                let cdf = half * (E::one() + (x * rsqrt2).erf_fn());
                *y = x * cdf;
                *s = cdf + x * (-half * x * x).exp_fn() * rsqrt2pi;
            }
        }
    }
}
