//! The forward pass of `dropout` (its shape rule, parameters and FLOPs: `tinyarch_lang::layers::dropout`).

use crate::backend::{Act, Cx, Flow, Forward, Kernels, ops};
use dfdx::prelude::{Dtype, Tape};
use tinyarch_lang::layers::dropout::DropoutConfig;

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for DropoutConfig {
    fn forward(&self, x: Flow<E, D, T>, cx: &Cx<E, D>) -> Flow<E, D, T> {
        let a = x.hidden();
        let x = ops::dropout(a.x, cx.mode.drop(self.p), cx.mode); // same shape
        Flow::Hidden(Act { x, ..a })
    }
}
