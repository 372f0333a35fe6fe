//! The forward pass of `embedding` (its shape rule, parameters and FLOPs: `tinyarch_lang::layers::embedding`).

use crate::backend::{Act, Cx, Flow, Forward, Kernels, ops};
use dfdx::prelude::{Dtype, Tape};
use tinyarch_lang::layers::embedding::EmbeddingConfig;

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for EmbeddingConfig {
    fn forward(&self, x: Flow<E, D, T>, cx: &Cx<E, D>) -> Flow<E, D, T> {
        let t = x.tokens(); // [N] ids
        let x = ops::embedding(&cx.matrix("weight"), &t.ids); // [N, C]
        Flow::Hidden(Act { x, batch: t.batch, positions: t.positions, first: t.first })
    }
}
