//! `x + r` for two activations of one shape (a residual sum read by more than one layer), in
//! parallel chunks: dfdx's add runs on one thread, and its backward walks strided indices.
//! Backward: `dx += dy`, `dr += dy`.

use dfdx::prelude::*;

use super::simd::par_add_assign;
use super::{Real, to_host, with_grad_out};
use crate::backend::Tensor2;

pub fn add<E: Real, T: Tape<E, Cpu>>(x: Tensor2<E, Cpu, T>, r: Tensor2<E, Cpu, T>) -> Tensor2<E, Cpu, T> {
    assert_eq!(x.shape(), r.shape(), "add: shapes differ");
    let (x, x_tape) = x.contiguous().split_tape();
    let (r, r_tape) = r.contiguous().split_tape();
    let mut tape = x_tape.merge(r_tape);
    let mut y = to_host(&x);
    par_add_assign(&mut y, &to_host(&r));
    let out = x.device().tensor_from_vec(y, *x.shape());
    let out_ref = out.clone();
    tape.add_backward_op(move |grads| {
        with_grad_out(grads, &out_ref, |dy, grads| {
            for input in [&x, &r] {
                par_add_assign(grads.get_or_alloc_mut(input)?, dy);
            }
            Ok(())
        })
    });
    out.put_tape(tape)
}
