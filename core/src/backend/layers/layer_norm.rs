//! The forward pass of `layer_norm` (its shape rule, parameters and FLOPs: `tinyarch_lang::layers::layer_norm`).

use crate::backend::{Cx, Flow, Forward, Kernels, ops};
use dfdx::prelude::*;
use tinyarch_lang::layers::layer_norm::LayerNormConfig;

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for LayerNormConfig {
    fn forward(&self, x: Flow<E, D, T>, cx: &Cx<E, D>) -> Flow<E, D, T> {
        let gain = cx.vector("weight");
        // Without a learned shift, a zero one: its gradient is computed and dropped.
        let shift = cx.bias_or_zero("bias", self.width as usize);
        let fused = cx.mode.fused_ops();
        Flow::Hidden(match x {
            // A post-LN residual: the sum is formed inside the norm's kernel, never stored.
            Flow::Sum { body, skip } if fused => skip.map(|x| D::add_layer_norm(x, body.x, &gain, &shift, self.eps)),
            x => x.hidden().map(|x| {
                if fused {
                    D::layer_norm(x, &gain, &shift, self.eps)
                } else {
                    ops::layer_norm(x, &gain, &shift, self.eps)
                }
            }),
        }) // [N, C]
    }
}
