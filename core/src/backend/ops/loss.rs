//! Cross-entropy with integer targets (composite dfdx ops).

use dfdx::prelude::*;

use crate::backend::{Tensor1, Tensor2};

/// Mean negative log-likelihood of `targets` under `softmax(logits)`, as
/// `F.cross_entropy(logits, targets)`.
pub fn cross_entropy<E: Dtype, D: Device<E>, T: Tape<E, D>>(
    logits: Tensor2<E, D, T>,    // [M, V]
    targets: &Tensor1<usize, D>, // [M]
) -> Tensor<Rank0, E, D, T> {
    let logp = logits.log_softmax::<Axis<1>>(); // [M, V]
    let picked = logp.select(targets.clone()); // [M]
    picked.mean::<Rank0, _>().negate()
}
