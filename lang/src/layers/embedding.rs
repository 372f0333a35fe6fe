//! Token embedding: `nn.Embedding(vocab, dim)`, a lookup table from ids to vectors.
//! `[context] tokens -> [context, dim]`; weight `[vocab, dim]` drawn from N(0, std²), std 1 as in
//! PyTorch (GPT-2 draws 0.02, which a head tied to this table needs to start near a uniform guess).

use super::*;
use crate::ir::Shape;

pub struct Embedding;

#[derive(Debug)]
pub struct EmbeddingConfig {
    pub output: Shape,
    pub vocab: u64,
    pub dim: u64,
    pub std: f64,
}

static ARGS: [ArgSpec; 2] = [
    ArgSpec::required("dim", ArgType::Int, "width of each token's vector"),
    ArgSpec::optional("std", ArgType::Float, ArgDefault::Float(1.0), "standard deviation of the initial weights"),
];

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
    fn examples(&self) -> &'static [&'static str] {
        &["embedding(dim = 6) head()"]
    }
    fn configure(&self, args: &Args, input: &Shape, env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let dim = args.dim("dim")?;
        let std = args.positive("std")?;
        if input.elem != crate::ir::Elem::Token {
            return Err(LayerError::input("token ids", input).help("an embedding must come first, on the token ids"));
        }
        count(&[env.vocab.size, dim.size])?;
        let mut dims = input.dims.clone();
        dims.push(dim.clone()); // [T] -> [T, dim]
        Ok(Box::new(EmbeddingConfig { output: Shape::floats(dims), vocab: env.vocab.size, dim: dim.size, std }))
    }
}

impl Layer for EmbeddingConfig {
    fn output(&self) -> Shape {
        self.output.clone()
    }
    fn parameters(&self) -> Vec<ParamSpec> {
        vec![ParamSpec::new("weight", vec![self.vocab, self.dim], Role::TokenEmbedding, Init::Normal { std: self.std })]
    }
    fn position_wise(&self) -> bool {
        true
    }
}
