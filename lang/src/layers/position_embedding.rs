//! Learned position embedding, as in GPT-2 and the study: a vector per position, added.
//! `[context, d] -> [context, d]`; weight `[context, d]` drawn from N(0, 1) (`nn.Embedding`).

use super::*;
use crate::ir::{Flops, Shape};

pub struct PositionEmbedding;

#[derive(Debug)]
pub struct PositionEmbeddingConfig {
    pub output: Shape,
    pub positions: u64,
    pub width: u64,
}

impl LayerKind for PositionEmbedding {
    fn name(&self) -> &'static str {
        "position_embedding"
    }
    fn doc(&self) -> &'static str {
        "learned position embedding added to each position's vector"
    }
    fn args(&self) -> &'static [ArgSpec] {
        &[]
    }
    fn examples(&self) -> &'static [&'static str] {
        &["embedding(dim = 6) position_embedding() head()"]
    }
    fn configure(&self, _args: &Args, input: &Shape, env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let width = float_width(input, "`[context, d]`")?;
        if input.dims.len() != 2 || input.dims[0].size != env.context.size {
            return Err(LayerError::input("`[context, d]`", input));
        }
        count(&[env.context.size, width.size])?;
        Ok(Box::new(PositionEmbeddingConfig { output: input.clone(), positions: env.context.size, width: width.size }))
    }
}

impl Layer for PositionEmbeddingConfig {
    fn output(&self) -> Shape {
        self.output.clone()
    }
    fn parameters(&self) -> Vec<ParamSpec> {
        let shape = vec![self.positions, self.width];
        vec![ParamSpec::new("weight", shape, Role::PositionEmbedding, Init::Normal { std: 1.0 })]
    }
    fn flops(&self, rows: u64) -> Flops {
        Flops::elementwise(rows * self.width) // x + pos
    }
    fn position_wise(&self) -> bool {
        true
    }
}
