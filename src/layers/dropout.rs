//! Dropout: zero each element with probability `p` in training, scale the rest by 1/(1-p).
//! Shape unchanged; one FLOP per element (the mask multiply) when `p > 0`.

use super::*;
use crate::ir::{Flops, Shape};

pub struct Dropout;

#[derive(Debug)]
struct Configured {
    output: Shape,
    p: f64,
}

static ARGS: [ArgSpec; 1] = [ArgSpec::required("p", ArgType::Float, "probability of dropping an element")];

impl LayerKind for Dropout {
    fn name(&self) -> &'static str {
        "dropout"
    }
    fn doc(&self) -> &'static str {
        "randomly zero elements during training"
    }
    fn args(&self) -> &'static [ArgSpec] {
        &ARGS
    }
    fn configure(&self, args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let p = args.probability("p")?;
        float_width(input, "activations")?;
        Ok(Box::new(Configured { output: input.clone(), p }))
    }
}

impl Layer for Configured {
    fn output(&self) -> Shape {
        self.output.clone()
    }
    fn flops(&self) -> Flops {
        Flops::elementwise(if self.p > 0.0 { self.output.elements() } else { 0 })
    }
}
