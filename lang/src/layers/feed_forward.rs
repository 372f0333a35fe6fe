//! Position-wise feed-forward block: `fc2(dropout(act(fc1(x))))`, as in
//! `nn.TransformerEncoderLayer` and nanoGPT's `MLP`.
//! `[..., d] -> [..., d]`; `fc1 [hidden, d]`, `fc2 [d, hidden]`, `nn.Linear` init.

use super::*;
use crate::ir::{Flops, Shape};
use activation::Activation;

pub struct FeedForward;

#[derive(Debug)]
pub struct FeedForwardConfig {
    pub output: Shape,
    pub width: u64,
    pub hidden: u64,
    pub bias: bool,
    pub dropout: f64,
    pub function: Activation,
}

static ARGS: [ArgSpec; 4] = [
    ArgSpec::required("hidden", ArgType::Int, "width of the hidden layer"),
    ArgSpec::optional(
        "activation",
        ArgType::Choice(Activation::NAMES),
        ArgDefault::Choice("relu"),
        "activation between the two layers",
    ),
    ArgSpec::optional("dropout", ArgType::Float, ArgDefault::Float(0.0), "dropout after the activation"),
    ArgSpec::optional("bias", ArgType::Bool, ArgDefault::Bool(true), "biases on both layers"),
];

impl LayerKind for FeedForward {
    fn name(&self) -> &'static str {
        "feed_forward"
    }
    fn doc(&self) -> &'static str {
        "two linear layers with an activation between: d -> hidden -> d"
    }
    fn args(&self) -> &'static [ArgSpec] {
        &ARGS
    }
    fn examples(&self) -> &'static [&'static str] {
        &[
            "embedding(dim = 6) feed_forward(hidden = 10) head()",
            "embedding(dim = 6) feed_forward(hidden = 10, activation = gelu, dropout = 0.1) head()",
            "embedding(dim = 6) feed_forward(hidden = 10, activation = silu, bias = false) head()",
            "embedding(dim = 6) feed_forward(hidden = 10, activation = tanh) head()",
        ]
    }
    fn configure(&self, args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let hidden = args.dim("hidden")?;
        let name = args.choice("activation")?;
        let function = Activation::from_name(name).ok_or_else(|| {
            LayerError::argument("activation", format!("`{name}` is no activation")).label("unknown activation")
        })?;
        let dropout = args.probability("dropout")?;
        let bias = args.bool("bias")?;
        let width = float_width(input, "`[..., d]` activations")?;
        // Bounds every FLOP sum below.
        count(&[8, input.rows(), width.size, hidden.size])?;
        Ok(Box::new(FeedForwardConfig {
            output: input.clone(),
            width: width.size,
            hidden: hidden.size,
            bias,
            dropout,
            function,
        }))
    }
}

impl Layer for FeedForwardConfig {
    fn output(&self) -> Shape {
        self.output.clone()
    }
    fn parameters(&self) -> Vec<ParamSpec> {
        let (d, h) = (self.width, self.hidden);
        let mut params = vec![ParamSpec::new("fc1.weight", vec![h, d], Role::Weight, Init::linear(d))];
        if self.bias {
            params.push(ParamSpec::new("fc1.bias", vec![h], Role::Bias, Init::linear(d)));
        }
        params.push(ParamSpec::new("fc2.weight", vec![d, h], Role::Weight, Init::linear(h)));
        if self.bias {
            params.push(ParamSpec::new("fc2.bias", vec![d], Role::Bias, Init::linear(h)));
        }
        params
    }
    fn flops(&self, rows: u64) -> Flops {
        let (r, d, h) = (rows, self.width, self.hidden);
        let biases = if self.bias { r * (h + d) } else { 0 };
        let dropout = if self.dropout > 0.0 { r * h } else { 0 };
        Flops { matmul: 2 * 2 * r * d * h, elementwise: biases + r * h + dropout, ..Flops::default() }
    }
    fn position_wise(&self) -> bool {
        true
    }
    fn saved_elements(&self) -> u64 {
        2 * self.output.rows() * self.hidden
    }
}
