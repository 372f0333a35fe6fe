//! Layer normalisation over the last dimension: `nn.LayerNorm(d, eps)`.
//! Shape unchanged; scale `[d]` = 1 and shift `[d]` = 0; 7 norm FLOPs per element.

use super::*;
use crate::ir::{Flops, Shape};

pub struct LayerNorm;

#[derive(Debug)]
pub struct LayerNormConfig {
    pub output: Shape,
    pub width: u64,
    pub bias: bool,
    pub eps: f64,
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
    fn examples(&self) -> &'static [&'static str] {
        &[
            "embedding(dim = 6) layer_norm() head()",
            "embedding(dim = 6) layer_norm(bias = false) head()",
            "embedding(dim = 6) residual { linear(out = 6) } layer_norm() head()",
        ]
    }
    fn configure(&self, args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let eps = args.positive("eps")?;
        let bias = args.bool("bias")?;
        let width = float_width(input, "`[..., d]` activations")?;
        Ok(Box::new(LayerNormConfig { output: input.clone(), width: width.size, bias, eps }))
    }
}

impl Layer for LayerNormConfig {
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
