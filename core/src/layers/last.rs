//! Select the last position: `[context, d] -> [d]`, for models that predict one next token.

use super::*;
use crate::backend::forward::select_last;
use crate::backend::{Cx, Forward, Kernels, Value};
use crate::ir::Shape;
use dfdx::prelude::{Dtype, Tape};

pub struct Last;

#[derive(Debug)]
struct Configured {
    output: Shape,
}

impl LayerKind for Last {
    fn name(&self) -> &'static str {
        "last"
    }
    fn doc(&self) -> &'static str {
        "keep only the last position's vector"
    }
    fn args(&self) -> &'static [ArgSpec] {
        &[]
    }
    fn configure(&self, _args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        if input.elem != crate::ir::Elem::Float || input.dims.len() != 2 {
            return Err(LayerError::input("`[context, d]`", input));
        }
        Ok(Box::new(Configured { output: Shape::floats(vec![input.dims[1].clone()]) }))
    }
}

impl Layer for Configured {
    fn output(&self) -> Shape {
        self.output.clone()
    }
}

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for Configured {
    fn forward(&self, x: Value<E, D, T>, _cx: &Cx<E, D>) -> Value<E, D, T> {
        Value::Hidden(select_last(x.hidden())) // [B, C]
    }
}
