//! Embedding, linear, activations, dropout and layer norm (composite dfdx ops).

use std::ops::Range;

use dfdx::prelude::*;

use super::Mode;
use crate::backend::{Kernels, Tensor1, Tensor2};

/// Pointwise nonlinearity after a linear layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Identity,
    Relu,
    /// Exact (erf) GELU, PyTorch's `nn.GELU()` default; dfdx's `gelu` is the tanh approximation.
    Gelu,
    Tanh,
    /// `x * sigmoid(x)`.
    Silu,
}

impl From<tinyarch_lang::layers::activation::Activation> for Activation {
    /// Every activation kind of the language has its kernel: a new one fails to compile here.
    fn from(a: tinyarch_lang::layers::activation::Activation) -> Activation {
        use tinyarch_lang::layers::activation::Activation as Kind;
        match a {
            Kind::Relu => Activation::Relu,
            Kind::Gelu => Activation::Gelu,
            Kind::Tanh => Activation::Tanh,
            Kind::Silu => Activation::Silu,
        }
    }
}

/// Token lookup: `table[tokens]`. The table is retaped because it starts a branch of the graph:
/// a gather on an untaped tensor would not be recorded.
pub fn embedding<E: Dtype, D: Device<E>, T: Tape<E, D>>(
    table: &Tensor2<E, D>,      // [V, C]
    tokens: &Tensor1<usize, D>, // [N]
) -> Tensor2<E, D, T> {
    table.retaped::<T>().gather(tokens.clone()) // [N, C]
}

/// `x @ w^T` with `w` in PyTorch layout `[out, in]`; the transposed view is free (strided gemm).
/// `w` may carry a tape (a sliced parameter) or not (a parameter view).
pub fn matmul_t<E: Dtype, D: Device<E>, T: Tape<E, D> + Merge<R>, R: Tape<E, D>>(
    x: Tensor2<E, D, T>, // [N, in]
    w: Tensor2<E, D, R>, // [out, in]
) -> Tensor2<E, D, T> {
    let ((n, k), out) = (*x.shape(), w.shape().0);
    super::count::record_matmul(1, n, k, out);
    x.matmul(w.permute::<(usize, usize), Axes2<1, 0>>()) // [N, out]
}

/// `x + b` over rows.
pub fn add_bias<E: Dtype, D: Device<E>, T: Tape<E, D> + Merge<R>, R: Tape<E, D>>(
    x: Tensor2<E, D, T>, // [N, F]
    b: Tensor1<E, D, R>, // [F]
) -> Tensor2<E, D, T> {
    let shape = *x.shape();
    x + b.broadcast_like::<_, Axis<0>>(&shape)
}

/// `nn.Linear`: `x @ w^T + b`.
pub fn linear<E: Dtype, D: Device<E>, T: Tape<E, D>>(
    x: Tensor2<E, D, T>,       // [N, in]
    w: &Tensor2<E, D>,         // [out, in]
    b: Option<&Tensor1<E, D>>, // [out]
) -> Tensor2<E, D, T> {
    let y = matmul_t(x, w.clone()); // [N, out]
    match b {
        Some(b) => add_bias(y, b.clone()),
        None => y,
    }
}

/// `dropout(act(x @ w^T + b))` (a whole `nn.Linear` plus its activation and dropout), fused
/// on the CPU when the mode says so. `p` is the effective dropout probability ([`Mode::drop`]).
pub fn dense<E: Dtype, D: Kernels<E>, T: Tape<E, D>>(
    x: Tensor2<E, D, T>, // [N, in]
    w: &Tensor2<E, D>,   // [out, in]
    b: &Tensor1<E, D>,   // [out]
    act: Activation,
    p: f64,
    mode: Mode,
) -> Tensor2<E, D, T> {
    let rows = 0..w.shape().0;
    dense_rows(x, w, b, rows, act, p, mode)
}

/// [`dense`] restricted to output rows `rows` of `w` and `b` (e.g. the q or the kv part of a
/// fused qkv projection): `[N, rows.len()]`.
pub fn dense_rows<E: Dtype, D: Kernels<E>, T: Tape<E, D>>(
    x: Tensor2<E, D, T>, // [N, in]
    w: &Tensor2<E, D>,   // [out, in]
    b: &Tensor1<E, D>,   // [out]
    rows: Range<usize>,
    act: Activation,
    p: f64,
    mode: Mode,
) -> Tensor2<E, D, T> {
    if mode.fused_ops() { D::linear(x, w, b, rows, act, p) } else { dense_composite(x, w, b, rows, act, p) }
}

/// [`dense_rows`] from dfdx ops. A partial row range slices the parameters, retaped first: a
/// slice of an untaped tensor would not be recorded and its gradient would be lost. Disjoint
/// slices of a parameter with no other consumer are safe despite slice's assigning backward.
pub fn dense_composite<E: Dtype, D: Device<E>, T: Tape<E, D>>(
    x: Tensor2<E, D, T>, // [N, in]
    w: &Tensor2<E, D>,   // [out, in]
    b: &Tensor1<E, D>,   // [out]
    rows: Range<usize>,
    act: Activation,
    p: f64,
) -> Tensor2<E, D, T> {
    let y = if rows == (0..w.shape().0) {
        add_bias(matmul_t(x, w.clone()), b.clone()) // [N, out]
    } else {
        let ws = w.retaped::<T>().slice((rows.clone(), ..)); // [R, in]
        let bs = b.retaped::<T>().slice((rows,)); // [R]
        add_bias(matmul_t(x, ws), bs) // [N, R]
    };
    let y = activation(y, act);
    super::draws::counted_dropout(y, p)
}

pub fn activation<S: Shape, E: Dtype, D: Device<E>, T: Tape<E, D>>(
    x: Tensor<S, E, D, T>,
    act: Activation,
) -> Tensor<S, E, D, T> {
    match act {
        Activation::Identity => x,
        Activation::Relu => x.relu(),
        Activation::Gelu => gelu_exact(x),
        Activation::Tanh => x.tanh(),
        Activation::Silu => {
            let gate = x.retaped::<T>().sigmoid(); // a new id: no same-id product
            x * gate
        }
    }
}

/// Exact GELU with a correct gradient on any device.
///
/// dfdx 0.13's `accurate_gelu` (CPU and CUDA) has the right forward but its derivative's second
/// term is `x exp(-x^2/2) / sqrt(pi)` instead of `x exp(-x^2/2) / sqrt(2 pi)`. Adding
/// `s(x) - stop_grad(s(x))` with `s(x) = (1 - 1/sqrt 2) / sqrt(pi) * exp(-x^2/2)` leaves the value
/// unchanged and adds `s'(x)`, which cancels the excess exactly. The CPU fused kernel does not
/// need this.
fn gelu_exact<S: Shape, E: Dtype, D: Device<E>, T: Tape<E, D>>(x: Tensor<S, E, D, T>) -> Tensor<S, E, D, T> {
    let detached = gelu_correction(x.retaped::<NoneTape>());
    let correction = gelu_correction(x.retaped::<T>()) - detached;
    x.accurate_gelu() + correction
}

/// `(1 - 1/sqrt 2) / sqrt(pi) * exp(-x^2/2)`, see [`gelu_exact`].
fn gelu_correction<S: Shape, E: Dtype, D: Device<E>, T: Tape<E, D>>(x: Tensor<S, E, D, T>) -> Tensor<S, E, D, T> {
    let k = (1.0 - std::f64::consts::FRAC_1_SQRT_2) / std::f64::consts::PI.sqrt();
    (x.square() * E::from_f64(-0.5).unwrap()).exp() * E::from_f64(k).unwrap()
}

/// Inverted dropout with the effective probability `p` (a no-op when 0). Composite masks come
/// from the device RNG (`Cpu::seed_from_u64`), fused ones from a counter-based hash seeded by it.
pub fn dropout<S: Shape, E: Dtype, D: Kernels<E>, T: Tape<E, D>>(
    x: Tensor<S, E, D, T>,
    p: f64,
    mode: Mode,
) -> Tensor<S, E, D, T> {
    match (p > 0.0, mode.fused_ops()) {
        (false, _) => x,
        (true, true) => D::dropout(x, p),
        (true, false) => super::draws::counted_dropout(x, p),
    }
}

/// `nn.LayerNorm` over the last dim: biased variance, `eps` inside the square root.
pub fn layer_norm<E: Dtype, D: Device<E>, T: Tape<E, D>>(
    x: Tensor2<E, D, T>,   // [N, C]
    gamma: &Tensor1<E, D>, // [C]
    beta: &Tensor1<E, D>,  // [C]
    eps: f64,
) -> Tensor2<E, D, T> {
    let shape = *x.shape();
    let xhat = x.normalize::<Axis<1>>(eps); // [N, C]
    xhat * gamma.clone().broadcast_like::<_, Axis<0>>(&shape) + beta.clone().broadcast_like::<_, Axis<0>>(&shape)
}
