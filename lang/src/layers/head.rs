//! Output head: logits over the vocabulary, `[..., d] -> [..., vocab]`.
//! Untied: `nn.Linear(d, vocab)`. Tied: reuses the token embedding's `[vocab, d]` weight
//! (Press and Wolf 2017; GPT-2), adding no weight parameters.

use super::*;
use crate::ir::{Flops, Shape};

pub struct Head;

#[derive(Debug)]
pub struct HeadConfig {
    pub output: Shape,
    pub width: u64,
    pub vocab: u64,
    pub bias: bool,
    pub tied_to: Option<String>,
}

static ARGS: [ArgSpec; 2] = [
    ArgSpec::optional("bias", ArgType::Bool, ArgDefault::Bool(true), "a learned bias per vocabulary entry"),
    ArgSpec::optional("tied", ArgType::Bool, ArgDefault::Bool(false), "share the token embedding's weight"),
];

impl LayerKind for Head {
    fn name(&self) -> &'static str {
        "head"
    }
    fn doc(&self) -> &'static str {
        "logits over the vocabulary, optionally tied to the token embedding"
    }
    fn args(&self) -> &'static [ArgSpec] {
        &ARGS
    }
    fn examples(&self) -> &'static [&'static str] {
        &["embedding(dim = 6) head()", "embedding(dim = 6) head(tied = true, bias = false)"]
    }
    fn configure(&self, args: &Args, input: &Shape, env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let bias = args.bool("bias")?;
        let width = float_width(input, "`[..., d]` activations")?;
        let tied_to = if args.bool("tied")? {
            let embedding = env.find(Role::TokenEmbedding).next().ok_or_else(|| {
                LayerError::new(ErrorKind::Tying, "a tied head needs a token embedding before it")
                    .blame("tied")
                    .label("nothing to tie to")
                    .help("add `embedding(dim = ...)` at the start, or set `tied = false`")
            })?;
            let expected = [env.vocab.size, width.size];
            if embedding.shape != expected {
                return Err(LayerError::new(
                    ErrorKind::Tying,
                    format!(
                        "the embedding `{}` is {:?}, but a tied head on width {} needs {:?}",
                        embedding.name, embedding.shape, width.size, expected
                    ),
                )
                .blame("tied")
                .label("shapes differ")
                .help("make the embedding's `dim` equal the width that reaches the head"));
            }
            Some(embedding.name.clone())
        } else {
            None
        };
        // Bounds the product and bias FLOPs together.
        count(&[4, input.rows(), width.size, env.vocab.size])?;
        Ok(Box::new(HeadConfig {
            output: input.with_width(env.vocab.clone()),
            width: width.size,
            vocab: env.vocab.size,
            bias,
            tied_to,
        }))
    }
}

impl Layer for HeadConfig {
    fn output(&self) -> Shape {
        self.output.clone()
    }
    fn parameters(&self) -> Vec<ParamSpec> {
        let mut weight = ParamSpec::new("weight", vec![self.vocab, self.width], Role::Weight, Init::linear(self.width));
        weight.tied_to = self.tied_to.clone();
        let mut params = vec![weight];
        if self.bias {
            params.push(ParamSpec::new("bias", vec![self.vocab], Role::Bias, Init::linear(self.width)));
        }
        params
    }
    fn flops(&self, rows: u64) -> Flops {
        let bias = if self.bias { rows * self.vocab } else { 0 };
        Flops { matmul: 2 * rows * self.width * self.vocab, elementwise: bias, ..Flops::default() }
    }
    fn position_wise(&self) -> bool {
        true
    }
}
