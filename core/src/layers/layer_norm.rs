//! Layer normalisation over the last dimension: `nn.LayerNorm(d, eps)`.
//! Shape unchanged; scale `[d]` = 1 and shift `[d]` = 0; 7 norm FLOPs per element.

use super::*;
use crate::backend::{Cx, Forward, Kernels, Value, ops};
use crate::ir::{Flops, Shape};
use dfdx::prelude::*;

pub struct LayerNorm;

#[derive(Debug)]
struct Configured {
    output: Shape,
    width: u64,
    bias: bool,
    eps: f64,
}

static ARGS: [ArgSpec; 2] = [
    ArgSpec::optional("eps", ArgType::Float, ArgDefault::Float(1e-5), "added to the variance"),
    ArgSpec::optional("bias", ArgType::Bool, ArgDefault::Bool(true), "learn a shift as well as a scale"),
];

impl LayerKind for LayerNorm {
    fn name(&self) -> &'static str {
        "layer_norm"
    }
    fn doc(&self) -> &'static str {
        "normalise each vector to zero mean and unit variance, then scale and shift"
    }
    fn args(&self) -> &'static [ArgSpec] {
        &ARGS
    }
    fn configure(&self, args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let eps = args.positive("eps")?;
        let bias = args.bool("bias")?;
        let width = float_width(input, "`[..., d]` activations")?;
        Ok(Box::new(Configured { output: input.clone(), width: width.size, bias, eps }))
    }
}

impl Layer for Configured {
    fn output(&self) -> Shape {
        self.output.clone()
    }
    fn parameters(&self) -> Vec<ParamSpec> {
        let mut params = vec![ParamSpec::new("weight", vec![self.width], Role::NormScale, Init::Ones)];
        if self.bias {
            params.push(ParamSpec::new("bias", vec![self.width], Role::NormShift, Init::Zeros));
        }
        params
    }
    fn flops(&self, rows: u64) -> Flops {
        Flops { norm: 7 * rows * self.width, ..Flops::default() }
    }
    fn position_wise(&self) -> bool {
        true
    }
}

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for Configured {
    fn forward(&self, x: Value<E, D, T>, cx: &Cx<E, D>) -> Value<E, D, T> {
        let gain = cx.vector("weight");
        // Without a learned shift, a zero one: its gradient is computed and dropped.
        let shift = cx.bias_or_zero("bias", self.width as usize);
        let fused = cx.mode.fused_ops();
        Value::Hidden(match x {
            // A post-LN residual: the sum is formed inside the norm's kernel, never stored.
            Value::Sum { body, skip } if fused => skip.map(|x| D::add_layer_norm(x, body.x, &gain, &shift, self.eps)),
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
