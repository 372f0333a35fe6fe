//! The forward pass of `flatten` (its shape rule, parameters and FLOPs: `tinyarch_lang::layers::flatten`).

use crate::backend::{Act, Cx, Flow, Forward, Kernels};
use dfdx::prelude::*;
use tinyarch_lang::layers::flatten::FlattenConfig;

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for FlattenConfig {
    fn forward(&self, x: Flow<E, D, T>, _cx: &Cx<E, D>) -> Flow<E, D, T> {
        let a = x.hidden();
        let (n, c) = *a.x.shape();
        let x = a.x.reshape_like(&(a.batch, n / a.batch * c)); // [B, T*C]
        Flow::Hidden(Act { x, batch: a.batch, positions: 1, first: 0 })
    }
}
