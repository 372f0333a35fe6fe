//! RMS normalisation over the last dimension (Zhang and Sennrich 2019; `nn.RMSNorm`):
//! x / sqrt(mean(x^2) + eps) * scale. Shape unchanged; scale `[d]` = 1; 4 norm FLOPs per element.

use super::*;
use crate::ir::{Flops, Shape};

pub struct RmsNorm;

#[derive(Debug)]
pub struct RmsNormConfig {
    pub output: Shape,
    pub width: u64,
    pub eps: f64,
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
    fn examples(&self) -> &'static [&'static str] {
        &["embedding(dim = 6) rms_norm() head()"]
    }
    fn configure(&self, args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let eps = args.positive("eps")?;
        let width = float_width(input, "`[..., d]` activations")?;
        Ok(Box::new(RmsNormConfig { output: input.clone(), width: width.size, eps }))
    }
}

impl Layer for RmsNormConfig {
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
