//! Learned position embedding, as in GPT-2 and the study: a vector per position, added.
//! `[context, d] -> [context, d]`; weight `[context, d]` drawn from N(0, 1) (`nn.Embedding`).

use super::*;
use crate::backend::{Act, Cx, Forward, Kernels, Value, ops};
use crate::ir::{Flops, Shape};
use dfdx::prelude::*;

pub struct PositionEmbedding;

#[derive(Debug)]
struct Configured {
    output: Shape,
    positions: u64,
    width: u64,
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
    fn configure(&self, _args: &Args, input: &Shape, env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let width = float_width(input, "`[context, d]`")?;
        if input.dims.len() != 2 || input.dims[0].size != env.context.size {
            return Err(LayerError::input("`[context, d]`", input));
        }
        count(&[env.context.size, width.size])?;
        Ok(Box::new(Configured { output: input.clone(), positions: env.context.size, width: width.size }))
    }
}

impl Layer for Configured {
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

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for Configured {
    fn forward(&self, x: Value<E, D, T>, cx: &Cx<E, D>) -> Value<E, D, T> {
        let a = x.hidden();
        let (n, c) = *a.x.shape();
        let (b, p) = (a.batch, a.positions);
        let dev = a.x.device().clone();
        let positions = dev.tensor_from_vec((a.first..a.first + p).collect::<Vec<usize>>(), (p,));
        let table: Tensor2<E, D, T> = ops::embedding(&cx.matrix("weight"), &positions); // [P, C]
        let table = table.broadcast_like::<_, Axis<0>>(&(b, p, c)); // [B, P, C]
        let x = (a.x.reshape_like(&(b, p, c)) + table).reshape_like(&(n, c)); // [N, C]
        Value::Hidden(Act { x, ..a })
    }
}

type Tensor2<E, D, T> = crate::backend::Tensor2<E, D, T>;
