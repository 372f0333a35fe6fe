//! Select the last position: `[context, d] -> [d]`, for models that predict one next token.

use super::*;
use crate::ir::Shape;

pub struct Last;

#[derive(Debug)]
pub struct LastConfig {
    pub output: Shape,
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
    fn examples(&self) -> &'static [&'static str] {
        &["embedding(dim = 6) last() head()"]
    }
    fn configure(&self, _args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        if input.elem != crate::ir::Elem::Float || input.dims.len() != 2 {
            return Err(LayerError::input("`[context, d]`", input));
        }
        Ok(Box::new(LastConfig { output: Shape::floats(vec![input.dims[1].clone()]) }))
    }
}

impl Layer for LastConfig {
    fn output(&self) -> Shape {
        self.output.clone()
    }
}
