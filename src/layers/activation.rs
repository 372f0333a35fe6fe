//! Elementwise activations: `relu`, `gelu` (exact erf form, PyTorch's default), `tanh`, `silu`.
//! Shape unchanged; one FLOP per element by convention.

use super::*;
use crate::ir::{Flops, Shape};

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
        Ok(Box::new(Configured { output: input.clone() }))
    }
}

impl Layer for Configured {
    fn output(&self) -> Shape {
        self.output.clone()
    }
    fn flops(&self) -> Flops {
        Flops::elementwise(self.output.elements())
    }
}
