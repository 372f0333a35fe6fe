//! The forward pass of `head` (its shape rule, parameters and FLOPs: `tinyarch_lang::layers::head`).

use crate::backend::{Act, Cx, Flow, Forward, Kernels, ops};
use dfdx::prelude::{Dtype, Tape};
use tinyarch_lang::layers::head::HeadConfig;

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for HeadConfig {
    fn forward(&self, x: Flow<E, D, T>, cx: &Cx<E, D>) -> Flow<E, D, T> {
        let a = x.hidden(); // [N, C]
        let w = match &self.tied_to {
            Some(embedding) => cx.matrix_at(embedding), // [V, C], shared
            None => cx.matrix("weight"),                // [V, C]
        };
        let bias = cx.bias_or_zero("bias", self.vocab as usize);
        let x = ops::dense(a.x, &w, &bias, ops::Activation::Identity, 0.0, cx.mode); // [N, V]
        Flow::Hidden(Act { x, ..a })
    }
}
