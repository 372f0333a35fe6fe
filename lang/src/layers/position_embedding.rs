//! Learned position embedding, as in GPT-2 and the study: a vector per position, added.
//! `[context, d] -> [context, d]`; weight `[context, d]` drawn from N(0, std²), std 1 as
//! `nn.Embedding` (GPT-2: 0.02).

use super::*;
use crate::ir::{Flops, Shape};

pub struct PositionEmbedding;

static ARGS: [ArgSpec; 1] =
    [ArgSpec::optional("std", ArgType::Float, ArgDefault::Float(1.0), "standard deviation of the initial weights")];

#[derive(Debug)]
pub struct PositionEmbeddingConfig {
    pub output: Shape,
    pub positions: u64,
    pub width: u64,
    pub std: f64,
}

impl LayerKind for PositionEmbedding {
    fn name(&self) -> &'static str {
        "position_embedding"
    }
    fn doc(&self) -> &'static str {
        "learned position embedding added to each position's vector"
    }
    fn args(&self) -> &'static [ArgSpec] {
        &ARGS
    }
    fn examples(&self) -> &'static [&'static str] {
        &["embedding(dim = 6) position_embedding() head()"]
    }
    fn configure(&self, args: &Args, input: &Shape, env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let width = float_width(input, "`[context, d]`")?;
        if input.dims.len() != 2 || input.dims[0].size != env.context.size {
            return Err(LayerError::input("`[context, d]`", input));
        }
        count(&[env.context.size, width.size])?;
        let std = args.positive("std")?;
        Ok(Box::new(PositionEmbeddingConfig {
            output: input.clone(),
            positions: env.context.size,
            width: width.size,
            std,
        }))
    }
}

impl Layer for PositionEmbeddingConfig {
    fn output(&self) -> Shape {
        self.output.clone()
    }
    fn parameters(&self) -> Vec<ParamSpec> {
        let shape = vec![self.positions, self.width];
        vec![ParamSpec::new("weight", shape, Role::PositionEmbedding, Init::Normal { std: self.std })]
    }
    fn flops(&self, rows: u64) -> Flops {
        Flops::elementwise(rows * self.width) // x + pos
    }
    fn position_wise(&self) -> bool {
        true
    }
}
