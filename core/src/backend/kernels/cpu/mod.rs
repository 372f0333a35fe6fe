//! Fused CPU kernels registered as custom autodiff ops.
//!
//! Recipe for a custom op from outside dfdx (all public API):
//! 1. `let (x, mut tape) = x.contiguous().split_tape();` (physical order == logical order);
//! 2. read inputs with `copy_into` (one memcpy; `Tensor::data` is crate-private);
//! 3. compute the output into a `Vec` and wrap it with `dev.tensor_from_vec` (moves, no copy);
//! 4. `tape.add_backward_op(move |grads| ...)`: take the output's gradient with
//!    `grads.get_or_alloc_mut(&out)` (it is final when the closure runs: ops run in reverse
//!    creation order), and *accumulate* into `grads.get_or_alloc_mut(&input)` for each input,
//!    parameters included (their id is the parameter's id);
//! 5. `out.put_tape(tape)`.
//!
//! Rows are processed in parallel with rayon. Reductions across rows (bias and norm-gain
//! gradients) sum fixed-size blocks in a fixed order, so results are bit-identical whatever the
//! thread count.

mod add;
mod attention;
mod bias_act;
mod cross_entropy;
mod dropout;
mod gemm;
mod layer_norm;
mod linear;
mod rng;
mod simd;
mod softmax;

use dfdx::prelude::*;
use rayon::prelude::*;

use super::{AttnLayout, Kernels};
use crate::backend::ops::{Activation, Rope};
use crate::backend::{Tensor1, Tensor2, Tensor4};

/// Float element types the CPU kernels support (f32 for training, f64 for gradient checks).
pub trait Real: Dtype + num_traits::Float + Send + Sync {
    fn erf_fn(self) -> Self;
    /// `exp`, for arguments at most 88 (softmax after its max, Gaussian terms).
    fn exp_fn(self) -> Self;
}

impl Real for f32 {
    /// A rational approximation on [-4, 4] (erf is +-1 in f32 beyond), within 4.2e-7 of the
    /// exact value: branch-free, so the GELU loop vectorises where libm's `erff` (8 % of a
    /// GPT step) did not.
    #[inline(always)]
    fn erf_fn(self) -> Self {
        const P: [f32; 7] = [
            -2.726_142_3e-10,
            2.770_681_4e-8,
            -2.101_024e-6,
            -5.692_506_4e-5,
            -7.349_906_3e-4,
            -2.9546e-3,
            -1.609_603_3e-2,
        ];
        const Q: [f32; 5] = [-1.456_607_2e-5, -2.133_740_6e-4, -1.682_827e-3, -7.373_329e-3, -1.426_474e-2];
        let x = self.clamp(-4.0, 4.0);
        let x2 = x * x;
        let p = P.iter().fold(0.0, |acc, &c| acc * x2 + c);
        let q = Q.iter().fold(0.0, |acc, &c| acc * x2 + c);
        x * p / q
    }

    /// Branch-free, so that loops of it vectorise (libm's `expf` is a call per element):
    /// `2^k * e^r` with `k = round(x / ln 2)`, `|r| <= ln 2 / 2`, and a degree-6 Taylor
    /// polynomial for `e^r` (relative error about 2e-7). Arguments below -87 give about 1e-38
    /// rather than a subnormal or 0.
    #[inline(always)]
    fn exp_fn(self) -> Self {
        const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
        let x = self.clamp(-87.0, 88.0);
        let k = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
        let r = x - k * 0.693_145_75 - k * 1.428_606_8e-6; // ln 2 in two parts
        let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r / 720.0)))));
        p * f32::from_bits(((k as i32 + 127) as u32) << 23)
    }
}

impl Real for f64 {
    fn erf_fn(self) -> Self {
        libm::erf(self)
    }

    fn exp_fn(self) -> Self {
        self.exp()
    }
}

impl<E: Real> Kernels<E> for Cpu
where
    Cpu: Device<E>,
{
    fn scale_in_place(buffer: &mut <Self as Storage<E>>::Vec, s: E) -> bool {
        scale_slice(buffer, s);
        true
    }

    fn write_buffer(buffer: &mut <Self as Storage<E>>::Vec, values: &[E]) -> bool {
        write_slice(buffer, values)
    }

    fn resumable() -> bool {
        true
    }

    fn attention_core<T: Tape<E, Self>>(
        q_src: Tensor2<E, Self, T>,
        kv_src: Option<Tensor2<E, Self, T>>,
        layout: AttnLayout,
        rope: Option<&Rope<E, Self>>,
        dropout: f64,
    ) -> Tensor2<E, Self, T> {
        attention::attention_core(q_src, kv_src, layout, rope, dropout)
    }

    fn softmax_causal<T: Tape<E, Self>>(scores: Tensor4<E, Self, T>, scale: f64, dropout: f64) -> Tensor4<E, Self, T> {
        softmax::softmax_causal(scores, scale, dropout)
    }

    fn layer_norm<T: Tape<E, Self>>(
        x: Tensor2<E, Self, T>,
        gamma: &Tensor1<E, Self>,
        beta: &Tensor1<E, Self>,
        eps: f64,
    ) -> Tensor2<E, Self, T> {
        layer_norm::layer_norm(x, gamma, beta, eps)
    }

    fn add<T: Tape<E, Self>>(x: Tensor2<E, Self, T>, r: Tensor2<E, Self, T>) -> Tensor2<E, Self, T> {
        add::add(x, r)
    }

    fn add_layer_norm<T: Tape<E, Self>>(
        x: Tensor2<E, Self, T>,
        r: Tensor2<E, Self, T>,
        gamma: &Tensor1<E, Self>,
        beta: &Tensor1<E, Self>,
        eps: f64,
    ) -> Tensor2<E, Self, T> {
        layer_norm::add_layer_norm(x, r, gamma, beta, eps)
    }

    fn linear<T: Tape<E, Self>>(
        x: Tensor2<E, Self, T>,
        w: &Tensor2<E, Self>,
        b: &Tensor1<E, Self>,
        rows: std::ops::Range<usize>,
        act: Activation,
        dropout: f64,
    ) -> Tensor2<E, Self, T> {
        linear::linear(x, w, b, rows, act, dropout)
    }

    fn bias_act<T: Tape<E, Self> + Merge<R>, R: Tape<E, Self>>(
        x: Tensor2<E, Self, T>,
        bias: Tensor1<E, Self, R>,
        act: Activation,
        dropout: f64,
    ) -> Tensor2<E, Self, T> {
        bias_act::bias_act(x, bias, act, dropout)
    }

    fn dropout<S: Shape, T: Tape<E, Self>>(x: Tensor<S, E, Self, T>, p: f64) -> Tensor<S, E, Self, T> {
        dropout::dropout(x, p)
    }

    fn cross_entropy<T: Tape<E, Self>>(
        logits: Tensor2<E, Self, T>,
        targets: &Tensor1<usize, Self>,
    ) -> Tensor<Rank0, E, Self, T> {
        cross_entropy::cross_entropy(logits, targets)
    }
}

/// Outside the `Cpu: Device<E>` impl the storage type normalises to a `Vec` (see NOTES: the
/// where-clause would hide it).
fn scale_slice<E: Real>(values: &mut <Cpu as Storage<E>>::Vec, s: E) {
    values.par_iter_mut().for_each(|v| *v *= s);
}

/// Overwrites `buffer` with `values` if their lengths agree.
fn write_slice<E: Real>(buffer: &mut <Cpu as Storage<E>>::Vec, values: &[E]) -> bool {
    if buffer.len() != values.len() {
        return false;
    }
    buffer.copy_from_slice(values);
    true
}

/// Copies a tensor's physical data out (callers make it contiguous first).
fn to_host<S: Shape, E: Real, T>(t: &Tensor<S, E, Cpu, T>) -> Vec<E> {
    let mut v = zeros(t.shape().num_elements());
    t.copy_into(&mut v);
    v
}

/// `n` zeros. A large `vec![0; n]` is one thread's memset and page faults while the others
/// wait (a quarter of a GPT step ran on one thread before this): here every thread fills part.
fn zeros<E: Real>(n: usize) -> Vec<E> {
    if n < 1 << 15 {
        return vec![E::zero(); n];
    }
    let mut v = Vec::with_capacity(n);
    v.par_extend(rayon::iter::repeat_n(E::zero(), n).with_min_len(1 << 14));
    v
}

/// Lends the gradient of `out` to `f` (as a slice) while `f` borrows the map mutably for the
/// inputs' gradients, then puts it back.
fn with_grad_out<S: Shape, E: Dtype>(
    grads: &mut Gradients<E, Cpu>,
    out: &Tensor<S, E, Cpu>,
    f: impl FnOnce(&[E], &mut Gradients<E, Cpu>) -> Result<(), CpuError>,
) -> Result<(), CpuError> {
    let g: Vec<E> = std::mem::take(&mut **grads.get_or_alloc_mut(out)?);
    let r = f(&g, grads);
    **grads.get_or_alloc_mut(out)? = g;
    r
}

/// Rows per parallel task: enough work to amortise rayon's scheduling.
fn rows_per_task(row_len: usize) -> usize {
    (4096 / row_len.max(1)).max(1)
}

/// Column sums of `rows` (`[N, F]`, via `f(row) -> contribution`), deterministic: blocks of a
/// fixed number of rows are summed in parallel, then the block sums are added in order.
fn column_sums<E: Real>(n_rows: usize, width: usize, f: impl Fn(usize, &mut [E]) + Sync) -> Vec<E> {
    const BLOCK: usize = 64;
    let n_blocks = n_rows.div_ceil(BLOCK);
    let partials: Vec<Vec<E>> = (0..n_blocks)
        .into_par_iter()
        .map(|blk| {
            let mut acc = vec![E::zero(); width];
            simd::vectorized(
                #[inline(always)]
                || {
                    for r in blk * BLOCK..((blk + 1) * BLOCK).min(n_rows) {
                        f(r, &mut acc);
                    }
                },
            );
            acc
        })
        .collect();
    let mut total = vec![E::zero(); width];
    for p in partials {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    total
}

/// GFLOP/s of [`gemm::par_matmul`] on an `n x n x n` f32 product, best of `repeats`.
pub fn gemm_rate(n: usize, repeats: usize) -> f64 {
    let a: Vec<f32> = (0..n * n).map(|i| (i % 7) as f32 * 0.1).collect();
    let mut c = vec![0.0f32; n * n];
    let full = gemm::View::rows(0, n);
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) + 1 {
        let start = std::time::Instant::now();
        gemm::par_matmul((n, n, n), &a, full, &a, full, &mut c, full, false);
        best = best.min(start.elapsed().as_secs_f64());
    }
    2.0 * (n * n * n) as f64 / best / 1e9
}

#[cfg(test)]
mod tests {
    use super::Real;

    #[test]
    fn f32_erf_is_within_its_stated_error() {
        let worst = (-600_000..=600_000)
            .map(|i| i as f32 * 1e-5)
            .map(|x| (x.erf_fn() as f64 - libm::erf(x as f64)).abs())
            .fold(0.0, f64::max);
        assert!(worst < 4.5e-7, "largest error {worst:e}");
    }

    #[test]
    fn f32_exp_is_within_its_stated_error() {
        let worst = (-870_000..=880_000)
            .map(|i| i as f32 * 1e-4)
            .map(|x| ((x.exp_fn() as f64 - (x as f64).exp()) / (x as f64).exp()).abs())
            .fold(0.0, f64::max);
        assert!(worst < 3e-7, "largest relative error {worst:e}");
        assert_eq!(0.0f32.exp_fn(), 1.0);
    }
}
