//! The forward pass of `linear` (its shape rule, parameters and FLOPs: `tinyarch_lang::layers::linear`).

use crate::backend::{Act, Cx, Flow, Forward, Kernels, ops};
use dfdx::prelude::{Dtype, Tape};
use tinyarch_lang::layers::linear::LinearConfig;

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for LinearConfig {
    fn forward(&self, x: Flow<E, D, T>, cx: &Cx<E, D>) -> Flow<E, D, T> {
        let a = x.hidden(); // [N, in]
        let w = cx.matrix("weight"); // [out, in]
        let bias = cx.bias_or_zero("bias", self.out as usize);
        let x = ops::dense(a.x, &w, &bias, ops::Activation::Identity, 0.0, cx.mode); // [N, out]
        Flow::Hidden(Act { x, ..a })
    }
}
