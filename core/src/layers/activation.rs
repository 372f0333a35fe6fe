//! Elementwise activations: `relu`, `gelu` (exact erf form, PyTorch's default), `tanh`, `silu`.
//! Shape unchanged; one FLOP per element by convention.

use super::*;
use crate::backend::{Cx, Forward, Kernels, Value, ops};
use crate::ir::{Flops, Shape};
use dfdx::prelude::{Dtype, Tape};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Relu,
    Gelu,
    Tanh,
    Silu,
}

impl Activation {
    pub const NAMES: &'static [&'static str] = &["relu", "gelu", "tanh", "silu"];
}

#[derive(Debug)]
struct Configured {
    output: Shape,
    function: ops::Activation,
}

impl LayerKind for Activation {
    fn name(&self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Gelu => "gelu",
            Activation::Tanh => "tanh",
            Activation::Silu => "silu",
        }
    }
    fn doc(&self) -> &'static str {
        match self {
            Activation::Relu => "max(x, 0)",
            Activation::Gelu => "x * Phi(x), the Gaussian error linear unit",
            Activation::Tanh => "hyperbolic tangent",
            Activation::Silu => "x * sigmoid(x)",
        }
    }
    fn args(&self) -> &'static [ArgSpec] {
        &[]
    }
    fn configure(&self, _args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        float_width(input, "activations")?;
        let function = match self {
            Activation::Relu => ops::Activation::Relu,
            Activation::Gelu => ops::Activation::Gelu,
            Activation::Tanh => ops::Activation::Tanh,
            Activation::Silu => ops::Activation::Silu,
        };
        Ok(Box::new(Configured { output: input.clone(), function }))
    }
}

impl Layer for Configured {
    fn output(&self) -> Shape {
        self.output.clone()
    }
    fn flops(&self, rows: u64) -> Flops {
        Flops::elementwise(rows * self.output.dims.last().map_or(1, |d| d.size))
    }
    fn position_wise(&self) -> bool {
        true
    }
}

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for Configured {
    fn forward(&self, x: Value<E, D, T>, _cx: &Cx<E, D>) -> Value<E, D, T> {
        let a = x.hidden();
        Value::Hidden(crate::backend::Act { x: ops::activation(a.x, self.function), ..a }) // same shape
    }
}
