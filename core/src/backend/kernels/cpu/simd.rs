//! Vector code for the elementwise kernels without `unsafe` intrinsics: loops written so that
//! LLVM vectorises them, compiled for the widest instruction set the CPU has.
//!
//! [`vectorized`] runs a closure compiled with AVX-512 (else AVX2 + FMA) enabled, chosen at run
//! time as `gemm` chooses its microkernels; the default build targets baseline x86-64 (SSE2).
//! The closure and everything it calls must inline into it, or they run as baseline code: mark
//! the closure and its helpers `#[inline(always)]` (LLVM declines to inline a large closure on
//! its own). Rust never contracts `a * b + c` into an FMA, so every path computes the
//! same bits.
//!
//! Float reductions only vectorise when their order is written out: [`sum_by`] and [`max`] keep
//! [`LANES`] partial results (one vector register) and add them in a fixed tree, so a row's sum
//! does not depend on the CPU either.

use super::Real;

/// Partial results per reduction: 16 f32 fill one AVX-512 register.
const LANES: usize = 16;

/// Runs `f` compiled for AVX-512 or AVX2 + FMA when the CPU has them.
#[inline(always)]
pub(super) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(simd) = pulp::x86::V4::try_new() {
            return simd.vectorize(f);
        }
        if let Some(simd) = pulp::x86::V3::try_new() {
            return simd.vectorize(f);
        }
    }
    f()
}

/// `sum_i f(a[i], b[i])` over the common length.
#[inline(always)]
pub(super) fn sum_by2<E: Real>(a: &[E], b: &[E], f: impl Fn(E, E) -> E) -> E {
    reduce2(a, b, E::zero(), f, |x, y| x + y)
}

/// `sum_i f(a[i])`.
#[inline(always)]
pub(super) fn sum_by<E: Real>(a: &[E], f: impl Fn(E) -> E) -> E {
    reduce2(a, a, E::zero(), |x, _| f(x), |x, y| x + y)
}

/// The largest element (`-inf` for an empty slice).
#[inline(always)]
pub(super) fn max<E: Real>(a: &[E]) -> E {
    reduce2(a, a, E::neg_infinity(), |x, _| x, E::max)
}

#[inline(always)]
fn reduce2<E: Real>(a: &[E], b: &[E], init: E, f: impl Fn(E, E) -> E, combine: impl Fn(E, E) -> E) -> E {
    let n = a.len().min(b.len());
    let (a, b) = (a[..n].chunks_exact(LANES), b[..n].chunks_exact(LANES));
    let (a_tail, b_tail) = (a.remainder(), b.remainder());
    let mut acc = [init; LANES];
    for (x, y) in a.zip(b) {
        for l in 0..LANES {
            acc[l] = combine(acc[l], f(x[l], y[l]));
        }
    }
    for (l, (&x, &y)) in a_tail.iter().zip(b_tail).enumerate() {
        acc[l] = combine(acc[l], f(x, y));
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            acc[l] = combine(acc[l], acc[l + width]);
        }
    }
    acc[0]
}

/// `a[i] += b[i]`.
#[inline(always)]
pub(super) fn add_assign<E: Real>(a: &mut [E], b: &[E]) {
    a.iter_mut().zip(b).for_each(|(a, &b)| *a += b);
}

/// `a[i] += b[i]` over all threads (gradient accumulation, residual sums).
pub(super) fn par_add_assign<E: Real>(a: &mut [E], b: &[E]) {
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 14;
    a.par_chunks_mut(CHUNK).zip(b.par_chunks(CHUNK)).for_each(|(a, b)| {
        vectorized(
            #[inline(always)]
            || add_assign(a, b),
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reductions_match_a_plain_loop() {
        for n in [0, 1, 15, 16, 17, 65, 128, 129] {
            let a: Vec<f64> = (0..n).map(|i| ((i * 37) % 11) as f64 - 5.0).collect();
            let b: Vec<f64> = (0..n).map(|i| (i % 3) as f64).collect();
            let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert_eq!(
                vectorized(
                    #[inline(always)]
                    || sum_by2(&a, &b, |x, y| x * y)
                ),
                dot
            );
            assert_eq!(sum_by(&a, |x| x * x), a.iter().map(|x| x * x).sum::<f64>());
            assert_eq!(max(&a), a.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        }
    }
}
