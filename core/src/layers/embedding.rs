//! Token embedding: `nn.Embedding(vocab, dim)`, a lookup table from ids to vectors.
//! `[context] tokens -> [context, dim]`; weight `[vocab, dim]` drawn from N(0, 1).

use super::*;
use crate::backend::{Act, Cx, Forward, Kernels, Value, ops};
use crate::ir::Shape;
use dfdx::prelude::{Dtype, Tape};

pub struct Embedding;

#[derive(Debug)]
struct Configured {
    output: Shape,
    vocab: u64,
    dim: u64,
}

static ARGS: [ArgSpec; 1] = [ArgSpec::required("dim", ArgType::Int, "width of each token's vector")];

impl LayerKind for Embedding {
    fn name(&self) -> &'static str {
        "embedding"
    }
    fn doc(&self) -> &'static str {
        "token embedding: a learned vector per vocabulary entry"
    }
    fn args(&self) -> &'static [ArgSpec] {
        &ARGS
    }
    fn configure(&self, args: &Args, input: &Shape, env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let dim = args.dim("dim")?;
        if input.elem != crate::ir::Elem::Token {
            return Err(LayerError::input("token ids", input).help("an embedding must come first, on the token ids"));
        }
        count(&[env.vocab.size, dim.size])?;
        let mut dims = input.dims.clone();
        dims.push(dim.clone()); // [T] -> [T, dim]
        Ok(Box::new(Configured { output: Shape::floats(dims), vocab: env.vocab.size, dim: dim.size }))
    }
}

impl Layer for Configured {
    fn output(&self) -> Shape {
        self.output.clone()
    }
    fn parameters(&self) -> Vec<ParamSpec> {
        vec![ParamSpec::new("weight", vec![self.vocab, self.dim], Role::TokenEmbedding, Init::Normal { std: 1.0 })]
    }
    fn position_wise(&self) -> bool {
        true
    }
}

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for Configured {
    fn forward(&self, x: Value<E, D, T>, cx: &Cx<E, D>) -> Value<E, D, T> {
        let t = x.tokens(); // [N] ids
        let x = ops::embedding(&cx.matrix("weight"), &t.ids); // [N, C]
        Value::Hidden(Act { x, batch: t.batch, positions: t.positions, first: t.first })
    }
}
