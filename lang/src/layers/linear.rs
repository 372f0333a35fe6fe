//! Linear map of the last dimension: `nn.Linear(d, out, bias)`.
//! `[..., d] -> [..., out]`; weight `[out, d]` and bias `[out]` from U(+-1/sqrt(d)).

use super::*;
use crate::ir::{Flops, Shape};

pub struct Linear;

#[derive(Debug)]
pub struct LinearConfig {
    pub output: Shape,
    pub fan_in: u64,
    pub out: u64,
    pub bias: bool,
}

static ARGS: [ArgSpec; 2] = [
    ArgSpec::required("out", ArgType::Int, "output width"),
    ArgSpec::optional("bias", ArgType::Bool, ArgDefault::Bool(true), "add a learned bias"),
];

impl LayerKind for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn doc(&self) -> &'static str {
        "affine map of each vector: x W^T + b"
    }
    fn args(&self) -> &'static [ArgSpec] {
        &ARGS
    }
    fn examples(&self) -> &'static [&'static str] {
        &["embedding(dim = 6) linear(out = 5) head()", "embedding(dim = 6) linear(out = 6, bias = false) head()"]
    }
    fn configure(&self, args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let out = args.dim("out")?;
        let bias = args.bool("bias")?;
        let fan_in = float_width(input, "`[..., d]` activations")?;
        // Bounds the product and bias FLOPs together.
        count(&[4, input.rows(), fan_in.size, out.size])?;
        Ok(Box::new(LinearConfig { output: input.with_width(out.clone()), fan_in: fan_in.size, out: out.size, bias }))
    }
}

impl Layer for LinearConfig {
    fn output(&self) -> Shape {
        self.output.clone()
    }
    fn parameters(&self) -> Vec<ParamSpec> {
        let init = Init::linear(self.fan_in);
        let mut params = vec![ParamSpec::new("weight", vec![self.out, self.fan_in], Role::Weight, init)];
        if self.bias {
            params.push(ParamSpec::new("bias", vec![self.out], Role::Bias, init));
        }
        params
    }
    fn flops(&self, rows: u64) -> Flops {
        let bias = if self.bias { rows * self.out } else { 0 };
        Flops { matmul: 2 * rows * self.fan_in * self.out, elementwise: bias, ..Flops::default() }
    }
    fn position_wise(&self) -> bool {
        true
    }
}
