//! Flatten the context window into one vector, as the study's linear and MLP predictors do:
//! `[context, d] -> [context * d]`. No parameters, no FLOPs (a view).

use super::*;
use crate::backend::{Act, Cx, Forward, Kernels, Value};
use crate::ir::Shape;
use dfdx::prelude::*;

pub struct Flatten;

#[derive(Debug)]
struct Configured {
    output: Shape,
}

impl LayerKind for Flatten {
    fn name(&self) -> &'static str {
        "flatten"
    }
    fn doc(&self) -> &'static str {
        "concatenate every position's vector into one"
    }
    fn args(&self) -> &'static [ArgSpec] {
        &[]
    }
    fn configure(&self, _args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        if input.elem != crate::ir::Elem::Float || input.dims.len() < 2 {
            return Err(LayerError::input("`[context, d]`", input));
        }
        let mut flat = input.dims[0].clone();
        for d in &input.dims[1..] {
            flat = flat.times(d).ok_or_else(|| LayerError::overflow("the flattened width"))?;
        }
        Ok(Box::new(Configured { output: Shape::floats(vec![flat]) }))
    }
}

impl Layer for Configured {
    fn output(&self) -> Shape {
        self.output.clone()
    }
}

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for Configured {
    fn forward(&self, x: Value<E, D, T>, _cx: &Cx<E, D>) -> Value<E, D, T> {
        let a = x.hidden();
        let (n, c) = *a.x.shape();
        let x = a.x.reshape_like(&(a.batch, n / a.batch * c)); // [B, T*C]
        Value::Hidden(Act { x, batch: a.batch, positions: 1, first: 0 })
    }
}
