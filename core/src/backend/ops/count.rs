//! Counts the matrix-product FLOPs the forward ops execute, on the calling thread, so that a
//! test can hold the FLOP plan against what really runs (the conformance suite does).
//!
//! Each op that multiplies matrices records `2 * m * k * n` per product from the sizes it was
//! given, at its entry on the calling thread (the kernels' worker threads never record).
//! Backward products are not counted: the plan charges them as twice the forward.

use std::cell::Cell;

thread_local! {
    static MATMUL_FLOPS: Cell<u64> = const { Cell::new(0) };
}

/// Records `count` products of `[m, k] x [k, n]`.
pub fn record_matmul(count: usize, m: usize, k: usize, n: usize) {
    let flops = 2 * (count as u64) * (m as u64) * (k as u64) * (n as u64);
    MATMUL_FLOPS.with(|c| c.set(c.get().saturating_add(flops)));
}

/// Runs `f` and returns its result with the matrix-product FLOPs its forward ops executed.
pub fn matmul_flops<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = MATMUL_FLOPS.with(Cell::get);
    let result = f();
    let after = MATMUL_FLOPS.with(Cell::get);
    (result, after - before)
}
