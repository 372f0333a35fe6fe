//! Every dropout mask starts from one `u64` drawn from the device's random stream (dfdx's own
//! dropout draws one too). The stream's state cannot be saved, but it can be replayed: the
//! draws are counted here, per thread (a training step runs on one thread), and a resumed run
//! draws and discards as many before its next step.

use std::cell::Cell;

use dfdx::prelude::*;
use dfdx::tensor::RandomU64;

thread_local! {
    static DRAWS: Cell<u64> = const { Cell::new(0) };
}

/// Draws made on this thread so far.
pub fn draws() -> u64 {
    DRAWS.with(Cell::get)
}

/// A dropout mask's seed from the device's stream, counted.
pub fn dropout_seed<D: RandomU64>(dev: &D) -> u64 {
    DRAWS.with(|d| d.set(d.get() + 1));
    dev.random_u64()
}

/// dfdx's dropout (which draws one seed), counted; a no-op when `p` is 0.
pub fn counted_dropout<S: Shape, E: Dtype, D: Device<E>, T: Tape<E, D>>(
    x: Tensor<S, E, D, T>,
    p: f64,
) -> Tensor<S, E, D, T> {
    if p > 0.0 {
        DRAWS.with(|d| d.set(d.get() + 1));
        x.dropout(p)
    } else {
        x
    }
}

/// Discards `n` draws from the device's stream, as `n` dropout masks would have taken.
pub fn skip<D: RandomU64>(dev: &D, n: u64) {
    for _ in 0..n {
        dev.random_u64();
    }
}
