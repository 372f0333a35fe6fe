//! The forward pass of `last` (its shape rule, parameters and FLOPs: `tinyarch_lang::layers::last`).

use crate::backend::forward::select_last;
use crate::backend::{Cx, Flow, Forward, Kernels};
use dfdx::prelude::{Dtype, Tape};
use tinyarch_lang::layers::last::LastConfig;

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for LastConfig {
    fn forward(&self, x: Flow<E, D, T>, _cx: &Cx<E, D>) -> Flow<E, D, T> {
        Flow::Hidden(select_last(x.hidden())) // [B, C]
    }
}
