//! Multi-head causal self-attention (Vaswani et al. 2017), optionally with rotary position
//! embeddings (RoPE, Su et al. 2021, rotate-half form).
//!
//! `projections = fused` follows `nn.MultiheadAttention`: one in-projection `qkv.weight [3d, d]`
//! (Xavier-uniform) with a zero-initialised bias, and `out` with a zero bias. `separate` follows
//! a hand-written block with `nn.Linear` for each of q, k, v and out, as in the study's RoPE model.
//!
//! Legend: T = positions, d = width, h = heads, dh = d / h.
//! ```text
//! q, k, v = x Wq, x Wk, x Wv          [T, d] each     3 * 2*T*d*d FLOPs
//! (RoPE rotates q and k per head)
//! scores  = q k^T / sqrt(dh), causal  [h, T, T]       2*T*T*d
//! softmax                              [h, T, T]       5*h*T*T (softmax column)
//! y       = probs v                    [T, d]          2*T*T*d
//! out     = y Wo                       [T, d]          2*T*d*d
//! ```

use super::*;
use crate::ir::{Flops, Shape};

pub struct Attention;

#[derive(Debug)]
pub struct AttentionConfig {
    pub output: Shape,
    pub positions: u64,
    pub width: u64,
    pub heads: u64,
    pub bias: bool,
    pub rope: Option<f64>,
    pub dropout: f64,
    pub fused: bool,
}

static ARGS: [ArgSpec; 6] = [
    ArgSpec::required("heads", ArgType::Int, "number of attention heads; must divide the width"),
    ArgSpec::optional("bias", ArgType::Bool, ArgDefault::Bool(true), "biases on the projections"),
    ArgSpec::optional("rope", ArgType::Bool, ArgDefault::Bool(false), "rotary position embedding on q and k"),
    ArgSpec::optional("rope_base", ArgType::Float, ArgDefault::Float(10000.0), "RoPE frequency base"),
    ArgSpec::optional("dropout", ArgType::Float, ArgDefault::Float(0.0), "dropout on the attention weights"),
    ArgSpec::optional(
        "projections",
        ArgType::Choice(&["fused", "separate"]),
        ArgDefault::Choice("fused"),
        "one fused q/k/v projection (nn.MultiheadAttention) or three nn.Linear",
    ),
];

impl LayerKind for Attention {
    fn name(&self) -> &'static str {
        "attention"
    }
    fn doc(&self) -> &'static str {
        "multi-head causal self-attention, with optional RoPE"
    }
    fn args(&self) -> &'static [ArgSpec] {
        &ARGS
    }
    fn examples(&self) -> &'static [&'static str] {
        &[
            "embedding(dim = 6) attention(heads = 2) head()",
            "embedding(dim = 8) attention(heads = 2, rope = true) head()",
            "embedding(dim = 6) attention(heads = 3, projections = separate) head()",
            "embedding(dim = 8) attention(heads = 2, projections = separate, rope = true, bias = false) head()",
            "embedding(dim = 6) attention(heads = 2, dropout = 0.2) head()",
        ]
    }
    fn configure(&self, args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let heads = args.dim("heads")?;
        let bias = args.bool("bias")?;
        let rope = args.bool("rope")?;
        let rope_base = args.positive("rope_base")?;
        let dropout = args.probability("dropout")?;
        let fused = args.choice("projections")? == "fused";
        let width = float_width(input, "`[context, d]`")?;
        if input.dims.len() != 2 {
            return Err(LayerError::input("`[context, d]`", input));
        }
        if width.size % heads.size != 0 {
            return Err(LayerError::new(
                ErrorKind::Indivisible,
                format!("{} heads do not divide the width {} (`{}`)", heads.size, width.size, width.sym),
            )
            .blame("heads")
            .label(format!("{} does not divide {}", heads.size, width.size))
            .help("choose a number of heads that divides the width"));
        }
        if rope && (width.size / heads.size) % 2 != 0 {
            return Err(LayerError::new(
                ErrorKind::Indivisible,
                format!(
                    "RoPE needs an even head width, but {} / {} = {}",
                    width.size,
                    heads.size,
                    width.size / heads.size
                ),
            )
            .blame("rope")
            .label("rotates pairs of dimensions"));
        }
        let positions = input.dims[0].size;
        // Every FLOP and activation sum below is at most these bounds (heads <= width).
        count(&[16, positions, positions, width.size])?;
        count(&[16, positions, width.size, width.size])?;
        Ok(Box::new(AttentionConfig {
            output: input.clone(),
            positions,
            width: width.size,
            heads: heads.size,
            bias,
            rope: rope.then_some(rope_base),
            dropout,
            fused,
        }))
    }
}

impl Layer for AttentionConfig {
    fn output(&self) -> Shape {
        self.output.clone()
    }

    fn parameters(&self) -> Vec<ParamSpec> {
        let d = self.width;
        let mut params = Vec::new();
        if self.fused {
            let xavier = Init::XavierUniform { fan_in: d, fan_out: 3 * d };
            params.push(ParamSpec::new("qkv.weight", vec![3 * d, d], Role::Weight, xavier));
            if self.bias {
                params.push(ParamSpec::new("qkv.bias", vec![3 * d], Role::Bias, Init::Zeros));
            }
        } else {
            for name in ["q", "k", "v"] {
                params.push(ParamSpec::new(&format!("{name}.weight"), vec![d, d], Role::Weight, Init::linear(d)));
                if self.bias {
                    params.push(ParamSpec::new(&format!("{name}.bias"), vec![d], Role::Bias, Init::linear(d)));
                }
            }
        }
        params.push(ParamSpec::new("out.weight", vec![d, d], Role::Weight, Init::linear(d)));
        if self.bias {
            // nn.MultiheadAttention zeroes its out-projection bias; nn.Linear does not.
            let init = if self.fused { Init::Zeros } else { Init::linear(d) };
            params.push(ParamSpec::new("out.bias", vec![d], Role::Bias, init));
        }
        params
    }

    /// `rows` queries (all `t` positions, or 1) against `t` keys: k and v are always
    /// projected for every position, q, the scores and the output only for the queries.
    fn flops(&self, rows: u64) -> Flops {
        let (t, q, d, h) = (self.positions, rows, self.width, self.heads);
        let projections = 2 * q * d * d + 2 * t * d * 2 * d + 2 * q * d * d;
        let scores_and_mix = 2 * (2 * q * t * d);
        let biases = if self.bias { 2 * q * d + 2 * t * d } else { 0 };
        let rope = if self.rope.is_some() { 3 * (q + t) * d } else { 0 };
        let dropout = if self.dropout > 0.0 { h * q * t } else { 0 };
        Flops {
            matmul: projections + scores_and_mix,
            elementwise: biases + rope + dropout,
            softmax: 5 * h * q * t,
            norm: 0,
        }
    }

    fn kaplan_context_flops(&self) -> u64 {
        2 * self.positions * self.width
    }

    fn saved_elements(&self) -> u64 {
        let (t, d, h) = (self.positions, self.width, self.heads);
        3 * t * d + 2 * h * t * t + t * d
    }
}
