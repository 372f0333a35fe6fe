//! Elementwise activations: `relu`, `gelu` (exact erf form, PyTorch's default), `tanh`, `silu`.
//! Shape unchanged; one FLOP per element by convention.

use super::*;
use crate::ir::{Flops, Shape};

/// The activation functions, each a layer kind of its own and a choice of `feed_forward`'s
/// `activation`. Names are written here once: [`Activation::NAMES`] is derived from them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Relu,
    Gelu,
    Tanh,
    Silu,
}

impl Activation {
    pub const ALL: [Activation; 4] = [Activation::Relu, Activation::Gelu, Activation::Tanh, Activation::Silu];

    pub const NAMES: &'static [&'static str] = &{
        let mut names = [""; Activation::ALL.len()];
        let mut i = 0;
        while i < names.len() {
            names[i] = Activation::ALL[i].name();
            i += 1;
        }
        names
    };

    pub const fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Gelu => "gelu",
            Activation::Tanh => "tanh",
            Activation::Silu => "silu",
        }
    }

    /// The activation a name in [`Activation::NAMES`] stands for.
    pub fn from_name(name: &str) -> Option<Activation> {
        Activation::ALL.into_iter().find(|a| a.name() == name)
    }
}

#[derive(Debug)]
pub struct ActivationConfig {
    pub output: Shape,
    pub function: Activation,
}

impl LayerKind for Activation {
    fn name(&self) -> &'static str {
        Activation::name(*self)
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
    fn examples(&self) -> &'static [&'static str] {
        match self {
            Activation::Relu => &["embedding(dim = 6) linear(out = 5) relu() head()"],
            Activation::Gelu => &["embedding(dim = 6) gelu() head()"],
            Activation::Tanh => &["embedding(dim = 6) tanh() head()"],
            Activation::Silu => &["embedding(dim = 6) silu() head()"],
        }
    }
    fn configure(&self, _args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        float_width(input, "activations")?;
        Ok(Box::new(ActivationConfig { output: input.clone(), function: *self }))
    }
}

impl Layer for ActivationConfig {
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
