//! Fused linear layer: `dropout(act(x @ w[rows]^T + b[rows]))`, with `w` in PyTorch layout
//! `[out, in]` and `rows` a range of its output rows (a whole layer, or the q / kv part of a
//! fused qkv projection without slicing the parameter).
//!
//! Uses `gemm` 0.19 (AVX-512 where available) instead of dfdx's matmul (gemm 0.15, AVX2 only),
//! and accumulates the backward products straight into the gradient buffers:
//! `dpre = dy * slope`, `dx += dpre @ w[rows]`, `dw[rows] += dpre^T @ x`, `db[rows] += colsum`.

use std::ops::Range;

use dfdx::prelude::*;

use super::bias_act::{Epilogue, add_column_sums};
use super::gemm::{View, par_matmul};
use super::rng::DropMask;
use super::{Real, to_host, with_grad_out, zeros};
use crate::backend::ops::{self, Activation};
use crate::backend::{Tensor1, Tensor2};

pub fn linear<E: Real, T: Tape<E, Cpu>>(
    x: Tensor2<E, Cpu, T>, // [N, K]
    w: &Tensor2<E, Cpu>,   // [Out, K]
    b: &Tensor1<E, Cpu>,   // [Out]
    rows: Range<usize>,
    act: Activation,
    dropout: f64,
) -> Tensor2<E, Cpu, T> {
    let mask =
        if dropout > 0.0 { DropMask::new(dropout, crate::backend::ops::draws::dropout_seed(x.device())) } else { None };
    let (x, mut tape) = x.contiguous().split_tape();
    let (n, k) = *x.shape();
    let (out_all, k_w) = *w.shape();
    assert_eq!(k, k_w, "linear: input width {k} vs weight {:?}", w.shape());
    assert!(rows.end <= out_all && b.shape().0 == out_all);
    let (r0, f) = (rows.start, rows.len());
    let xs = to_host(&x);
    let ws = to_host(w);
    let bs = to_host(b);
    // w[rows]^T as a [K, F] view of the [Out, K] buffer.
    let wt = View { offset: r0 * k, rs: 1, cs: k };

    let mut y = zeros(n * f);
    par_matmul((n, k, f), &xs, View::rows(0, k), &ws, wt, &mut y, View::rows(0, f), false);
    ops::count::record_matmul(1, n, k, f);
    let epi = Epilogue::forward(&mut y, f, &bs[rows.clone()], act, mask, T::OWNS_TAPE);

    let out = x.device().tensor_from_vec(y, (n, f));
    let out_ref = out.clone();
    let (w, b) = (w.clone(), b.clone());
    tape.add_backward_op(move |grads| {
        with_grad_out(grads, &out_ref, |dy, grads| {
            let dpre = epi.dpre(dy);
            let dpre: &[E] = dpre.as_deref().unwrap_or(dy);
            // dx += dpre [N, F] @ w[rows] [F, K]
            let dx = grads.get_or_alloc_mut(&x)?;
            par_matmul((n, f, k), dpre, View::rows(0, f), &ws, View::rows(r0 * k, k), dx, View::rows(0, k), true);
            // dw[rows] += dpre^T [F, N] @ x [N, K]
            let dw = grads.get_or_alloc_mut(&w)?;
            let dpre_t = View { offset: 0, rs: 1, cs: f };
            par_matmul((f, n, k), dpre, dpre_t, &xs, View::rows(0, k), dw, View::rows(r0 * k, k), true);
            let db = grads.get_or_alloc_mut(&b)?;
            add_column_sums(dpre, f, &mut db[r0..r0 + f]);
            Ok(())
        })
    });
    out.put_tape(tape)
}
