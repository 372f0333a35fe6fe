//! Inverted dropout with a counter-based mask (see [`super::rng`]), parallel over elements.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::rng::DropMask;
use super::{Real, to_host, with_grad_out};

const CHUNK: usize = 1 << 14;

pub fn dropout<S: Shape, E: Real, T: Tape<E, Cpu>>(x: Tensor<S, E, Cpu, T>, p: f64) -> Tensor<S, E, Cpu, T> {
    let Some(mask) = DropMask::new(p, crate::backend::ops::draws::dropout_seed(x.device())) else { return x };
    let (x, mut tape) = x.contiguous().split_tape();
    let shape = *x.shape();
    let mut y = to_host(&x);
    y.par_chunks_mut(CHUNK).enumerate().for_each(|(ci, ys)| mask.apply(ci * CHUNK, ys));
    let out = x.device().tensor_from_vec(y, shape);
    let out_ref = out.clone();
    tape.add_backward_op(move |grads| {
        with_grad_out(grads, &out_ref, |gy, grads| {
            let gx = grads.get_or_alloc_mut(&x)?;
            gx.par_chunks_mut(CHUNK).zip(gy.par_chunks(CHUNK)).enumerate().for_each(|(ci, (gx, gy))| {
                let mut g = gy.to_vec();
                mask.apply(ci * CHUNK, &mut g);
                gx.iter_mut().zip(&g).for_each(|(a, &g)| *a += g);
            });
            Ok(())
        })
    });
    out.put_tape(tape)
}
