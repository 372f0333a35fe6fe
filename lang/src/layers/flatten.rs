//! Flatten the context window into one vector, as the study's linear and MLP predictors do:
//! `[context, d] -> [context * d]`. No parameters, no FLOPs (a view).

use super::*;
use crate::ir::Shape;

pub struct Flatten;

#[derive(Debug)]
pub struct FlattenConfig {
    pub output: Shape,
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
    fn examples(&self) -> &'static [&'static str] {
        &["embedding(dim = 3) flatten() head()"]
    }
    fn configure(&self, _args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        if input.elem != crate::ir::Elem::Float || input.dims.len() < 2 {
            return Err(LayerError::input("`[context, d]`", input));
        }
        let mut flat = input.dims[0].clone();
        for d in &input.dims[1..] {
            flat = flat.times(d).ok_or_else(|| LayerError::overflow("the flattened width"))?;
        }
        Ok(Box::new(FlattenConfig { output: Shape::floats(vec![flat]) }))
    }
}

impl Layer for FlattenConfig {
    fn output(&self) -> Shape {
        self.output.clone()
    }
}
