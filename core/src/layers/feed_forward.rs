//! Position-wise feed-forward block: `fc2(dropout(act(fc1(x))))`, as in
//! `nn.TransformerEncoderLayer` and nanoGPT's `MLP`.
//! `[..., d] -> [..., d]`; `fc1 [hidden, d]`, `fc2 [d, hidden]`, `nn.Linear` init.

use super::*;
use crate::backend::{Act, Cx, Forward, Kernels, Value, ops};
use crate::ir::{Flops, Shape};
use activation::Activation;
use dfdx::prelude::{Dtype, Tape};

pub struct FeedForward;

#[derive(Debug)]
struct Configured {
    output: Shape,
    width: u64,
    hidden: u64,
    bias: bool,
    dropout: f64,
    function: ops::Activation,
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
    fn configure(&self, args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let hidden = args.dim("hidden")?;
        let function = match args.choice("activation")? {
            "gelu" => ops::Activation::Gelu,
            "tanh" => ops::Activation::Tanh,
            "silu" => ops::Activation::Silu,
            _ => ops::Activation::Relu,
        };
        let dropout = args.probability("dropout")?;
        let bias = args.bool("bias")?;
        let width = float_width(input, "`[..., d]` activations")?;
        // Bounds every FLOP sum below.
        count(&[8, input.rows(), width.size, hidden.size])?;
        Ok(Box::new(Configured {
            output: input.clone(),
            width: width.size,
            hidden: hidden.size,
            bias,
            dropout,
            function,
        }))
    }
}

impl Layer for Configured {
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

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for Configured {
    fn forward(&self, x: Value<E, D, T>, cx: &Cx<E, D>) -> Value<E, D, T> {
        let a = x.hidden(); // [N, C]
        let drop = cx.mode.drop(self.dropout);
        let (fc1, fc2) =
            (cx.bias_or_zero("fc1.bias", self.hidden as usize), cx.bias_or_zero("fc2.bias", self.width as usize));
        let h = ops::dense(a.x, &cx.matrix("fc1.weight"), &fc1, self.function, drop, cx.mode); // [N, F]
        let x = ops::dense(h, &cx.matrix("fc2.weight"), &fc2, ops::Activation::Identity, 0.0, cx.mode); // [N, C]
        Value::Hidden(Act { x, ..a })
    }
}
