//! The forward pass of `feed_forward` (its shape rule, parameters and FLOPs: `tinyarch_lang::layers::feed_forward`).

use crate::backend::{Act, Cx, Flow, Forward, Kernels, ops};
use dfdx::prelude::{Dtype, Tape};
use tinyarch_lang::layers::feed_forward::FeedForwardConfig;

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for FeedForwardConfig {
    fn forward(&self, x: Flow<E, D, T>, cx: &Cx<E, D>) -> Flow<E, D, T> {
        let a = x.hidden(); // [N, C]
        let drop = cx.mode.drop(self.dropout);
        let (fc1, fc2) =
            (cx.bias_or_zero("fc1.bias", self.hidden as usize), cx.bias_or_zero("fc2.bias", self.width as usize));
        let h = ops::dense(a.x, &cx.matrix("fc1.weight"), &fc1, self.function.into(), drop, cx.mode); // [N, F]
        let x = ops::dense(h, &cx.matrix("fc2.weight"), &fc2, ops::Activation::Identity, 0.0, cx.mode); // [N, C]
        Flow::Hidden(Act { x, ..a })
    }
}
