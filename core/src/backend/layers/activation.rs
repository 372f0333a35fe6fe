//! The forward pass of `activation` (its shape rule, parameters and FLOPs: `tinyarch_lang::layers::activation`).

use crate::backend::{Cx, Flow, Forward, Kernels, ops};
use dfdx::prelude::{Dtype, Tape};
use tinyarch_lang::layers::activation::ActivationConfig;

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for ActivationConfig {
    fn forward(&self, x: Flow<E, D, T>, _cx: &Cx<E, D>) -> Flow<E, D, T> {
        let a = x.hidden();
        Flow::Hidden(crate::backend::Act { x: ops::activation(a.x, self.function.into()), ..a }) // same shape
    }
}
