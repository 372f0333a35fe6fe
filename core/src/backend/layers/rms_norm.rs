//! The forward pass of `rms_norm` (its shape rule, parameters and FLOPs: `tinyarch_lang::layers::rms_norm`).

use crate::backend::{Act, Cx, Flow, Forward, Kernels};
use dfdx::prelude::*;
use tinyarch_lang::layers::rms_norm::RmsNormConfig;

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for RmsNormConfig {
    fn forward(&self, x: Flow<E, D, T>, cx: &Cx<E, D>) -> Flow<E, D, T> {
        let a = x.hidden(); // [N, C]
        let shape = *a.x.shape();
        let mean_square = a.x.retaped::<T>().square().mean::<_, Axis<1>>(); // [N]
        let inverse = (mean_square + E::from_f64(self.eps).unwrap()).sqrt().recip(); // [N]
        let gain = cx.vector("weight").broadcast_like::<_, Axis<0>>(&shape); // [N, C]
        let x = a.x * inverse.broadcast_like::<_, Axis<1>>(&shape) * gain; // [N, C]
        Flow::Hidden(Act { x, ..a })
    }
}
