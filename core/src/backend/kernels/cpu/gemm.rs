//! gemm (crate `gemm` 0.19, AVX-512 when the CPU has it) on strided slices: single-threaded
//! for kernels that parallelise over independent problems themselves, or parallel inside.

use super::Real;

/// A strided 2-D view: element `(i, j)` is at `offset + i * rs + j * cs`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View {
    pub offset: usize,
    pub rs: usize,
    pub cs: usize,
}

impl View {
    pub fn rows(offset: usize, rs: usize) -> Self {
        Self { offset, rs, cs: 1 }
    }

    /// The transposed view of the same memory.
    pub fn t(self) -> Self {
        Self { offset: self.offset, rs: self.cs, cs: self.rs }
    }

    fn last(self, rows: usize, cols: usize) -> usize {
        self.offset + (rows - 1) * self.rs + (cols - 1) * self.cs
    }
}

/// `c = a @ b` (`accumulate`: `c += a @ b`) with `a [m, k]`, `b [k, n]`, `c [m, n]`,
/// on the calling thread.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul<E: Real>(
    dims: (usize, usize, usize),
    a: &[E],
    av: View,
    b: &[E],
    bv: View,
    c: &mut [E],
    cv: View,
    accumulate: bool,
) {
    gemm_with(dims, a, av, b, bv, c, cv, accumulate, gemm::Parallelism::None)
}

/// [`matmul`] split over the rayon pool's threads.
#[allow(clippy::too_many_arguments)]
pub(crate) fn par_matmul<E: Real>(
    dims: (usize, usize, usize),
    a: &[E],
    av: View,
    b: &[E],
    bv: View,
    c: &mut [E],
    cv: View,
    accumulate: bool,
) {
    let threads = rayon::current_num_threads();
    let par = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    gemm_with(dims, a, av, b, bv, c, cv, accumulate, par)
}

#[allow(clippy::too_many_arguments)]
fn gemm_with<E: Real>(
    (m, k, n): (usize, usize, usize),
    a: &[E],
    av: View,
    b: &[E],
    bv: View,
    c: &mut [E],
    cv: View,
    accumulate: bool,
    parallelism: gemm::Parallelism,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        assert!(cv.last(m, n) < c.len());
        if !accumulate {
            (0..m).for_each(|i| (0..n).for_each(|j| c[cv.offset + i * cv.rs + j * cv.cs] = E::zero()));
        }
        return;
    }
    assert!(av.last(m, k) < a.len() && bv.last(k, n) < b.len() && cv.last(m, n) < c.len());
    // SAFETY: the asserts above keep every accessed element inside the three slices, and `c` is
    // borrowed mutably while `a` and `b` are shared borrows, so they cannot alias.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr().add(cv.offset),
            cv.cs as isize,
            cv.rs as isize,
            accumulate,
            a.as_ptr().add(av.offset),
            av.cs as isize,
            av.rs as isize,
            b.as_ptr().add(bv.offset),
            bv.cs as isize,
            bv.rs as isize,
            if accumulate { E::one() } else { E::zero() },
            E::one(),
            false,
            false,
            false,
            parallelism,
        )
    }
}
