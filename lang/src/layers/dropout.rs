//! Dropout: zero each element with probability `p` in training, scale the rest by 1/(1-p).
//! Shape unchanged; one FLOP per element (the mask multiply) when `p > 0`.

use super::*;
use crate::ir::{Flops, Shape};

pub struct Dropout;

#[derive(Debug)]
pub struct DropoutConfig {
    pub output: Shape,
    pub p: f64,
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
    fn examples(&self) -> &'static [&'static str] {
        &["embedding(dim = 6) dropout(p = 0.3) head()"]
    }
    fn configure(&self, args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let p = args.probability("p")?;
        float_width(input, "activations")?;
        Ok(Box::new(DropoutConfig { output: input.clone(), p }))
    }
}

impl Layer for DropoutConfig {
    fn output(&self) -> Shape {
        self.output.clone()
    }
    fn flops(&self, rows: u64) -> Flops {
        let width = self.output.dims.last().map_or(1, |d| d.size);
        Flops::elementwise(if self.p > 0.0 { rows * width } else { 0 })
    }
    fn position_wise(&self) -> bool {
        true
    }
}
