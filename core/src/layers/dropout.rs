//! Dropout: zero each element with probability `p` in training, scale the rest by 1/(1-p).
//! Shape unchanged; one FLOP per element (the mask multiply) when `p > 0`.

use super::*;
use crate::backend::{Act, Cx, Forward, Kernels, Value, ops};
use crate::ir::{Flops, Shape};
use dfdx::prelude::{Dtype, Tape};

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
    fn flops(&self, rows: u64) -> Flops {
        let width = self.output.dims.last().map_or(1, |d| d.size);
        Flops::elementwise(if self.p > 0.0 { rows * width } else { 0 })
    }
    fn position_wise(&self) -> bool {
        true
    }
}

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for Configured {
    fn forward(&self, x: Value<E, D, T>, cx: &Cx<E, D>) -> Value<E, D, T> {
        let a = x.hidden();
        let x = ops::dropout(a.x, cx.mode.drop(self.p), cx.mode); // same shape
        Value::Hidden(Act { x, ..a })
    }
}
