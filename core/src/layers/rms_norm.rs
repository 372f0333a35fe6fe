//! RMS normalisation over the last dimension (Zhang and Sennrich 2019; `nn.RMSNorm`):
//! x / sqrt(mean(x^2) + eps) * scale. Shape unchanged; scale `[d]` = 1; 4 norm FLOPs per element.

use super::*;
use crate::backend::{Act, Cx, Forward, Kernels, Value};
use crate::ir::{Flops, Shape};
use dfdx::prelude::*;

pub struct RmsNorm;

#[derive(Debug)]
struct Configured {
    output: Shape,
    width: u64,
    eps: f64,
}

static ARGS: [ArgSpec; 1] =
    [ArgSpec::optional("eps", ArgType::Float, ArgDefault::Float(1e-6), "added to the mean square")];

impl LayerKind for RmsNorm {
    fn name(&self) -> &'static str {
        "rms_norm"
    }
    fn doc(&self) -> &'static str {
        "scale each vector to unit root-mean-square, then by a learned scale"
    }
    fn args(&self) -> &'static [ArgSpec] {
        &ARGS
    }
    fn configure(&self, args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let eps = args.positive("eps")?;
        let width = float_width(input, "`[..., d]` activations")?;
        Ok(Box::new(Configured { output: input.clone(), width: width.size, eps }))
    }
}

impl Layer for Configured {
    fn output(&self) -> Shape {
        self.output.clone()
    }
    fn parameters(&self) -> Vec<ParamSpec> {
        vec![ParamSpec::new("weight", vec![self.width], Role::NormScale, Init::Ones)]
    }
    fn flops(&self, rows: u64) -> Flops {
        Flops { norm: 4 * rows * self.width, ..Flops::default() }
    }
    fn position_wise(&self) -> bool {
        true
    }
}

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for Configured {
    fn forward(&self, x: Value<E, D, T>, cx: &Cx<E, D>) -> Value<E, D, T> {
        let a = x.hidden(); // [N, C]
        let shape = *a.x.shape();
        let mean_square = a.x.retaped::<T>().square().mean::<_, Axis<1>>(); // [N]
        let inverse = (mean_square + E::from_f64(self.eps).unwrap()).sqrt().recip(); // [N]
        let gain = cx.vector("weight").broadcast_like::<_, Axis<0>>(&shape); // [N, C]
        let x = a.x * inverse.broadcast_like::<_, Axis<1>>(&shape) * gain; // [N, C]
        Value::Hidden(Act { x, ..a })
    }
}
