//! The forward pass of `position_embedding` (its shape rule, parameters and FLOPs: `tinyarch_lang::layers::position_embedding`).

use crate::backend::{Act, Cx, Flow, Forward, Kernels, ops};
use dfdx::prelude::*;
use tinyarch_lang::layers::position_embedding::PositionEmbeddingConfig;

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for PositionEmbeddingConfig {
    fn forward(&self, x: Flow<E, D, T>, cx: &Cx<E, D>) -> Flow<E, D, T> {
        let a = x.hidden();
        let (n, c) = *a.x.shape();
        let (b, p) = (a.batch, a.positions);
        let dev = a.x.device().clone();
        let positions = dev.tensor_from_vec((a.first..a.first + p).collect::<Vec<usize>>(), (p,));
        let table: Tensor2<E, D, T> = ops::embedding(&cx.matrix("weight"), &positions); // [P, C]
        let table = table.broadcast_like::<_, Axis<0>>(&(b, p, c)); // [B, P, C]
        let x = (a.x.reshape_like(&(b, p, c)) + table).reshape_like(&(n, c)); // [N, C]
        Flow::Hidden(Act { x, ..a })
    }
}

type Tensor2<E, D, T> = crate::backend::Tensor2<E, D, T>;
