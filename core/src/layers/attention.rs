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
use crate::backend::forward::select_last;
use crate::backend::kernels::AttnLayout;
use crate::backend::{Act, Cx, Forward, Kernels, Tensor2, Value, ops};
use crate::ir::{Flops, Shape};
use dfdx::prelude::*;

pub struct Attention;

#[derive(Debug)]
struct Configured {
    output: Shape,
    positions: u64,
    width: u64,
    heads: u64,
    bias: bool,
    rope: Option<f64>,
    dropout: f64,
    fused: bool,
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
        Ok(Box::new(Configured {
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

impl Layer for Configured {
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

/// What the attention core reads: queries, keys and values (`None`: in the query tensor), layout.
type CoreInputs<E, D, T> = (Tensor2<E, D, T>, Option<Tensor2<E, D, T>>, AttnLayout);

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for Configured {
    fn forward(&self, x: Value<E, D, T>, cx: &Cx<E, D>) -> Value<E, D, T> {
        let a = x.hidden(); // [N, C], every position
        let (b, c) = (a.batch, self.width as usize);
        let rope = self.rope.map(|base| cx.rope(c / self.heads as usize, base));
        let drop = cx.mode.drop(self.dropout);
        let identity = ops::Activation::Identity;
        // Queries for every position, or only the last one's when nothing else is read.
        let (queries, kv_input) = if cx.last_only {
            let last = select_last(Act { x: a.x.retaped::<T>(), ..a });
            (last, a.x)
        } else {
            (Act { x: a.x.retaped::<T>(), ..a }, a.x)
        };
        let heads = self.heads as usize;
        let (q_src, kv_src, layout): CoreInputs<E, D, T> = if self.fused && !cx.last_only {
            // Every position: one [N, 3C] projection holds q, k and v (one GEMM, one copy).
            let w = cx.matrix("qkv.weight"); // [3C, C], rows q, k, v
            let bias = cx.bias_or_zero("qkv.bias", 3 * c);
            let layout = AttnLayout { batch: b, heads, width: c, q_col: 0, k_col: c, v_col: 2 * c };
            // The input with its tape; `queries` keeps only the row bookkeeping here.
            (ops::dense(kv_input, &w, &bias, identity, 0.0, cx.mode), None, layout)
        } else if self.fused {
            let w = cx.matrix("qkv.weight");
            let bias = cx.bias_or_zero("qkv.bias", 3 * c);
            let layout = AttnLayout { batch: b, heads, width: c, q_col: 0, k_col: 0, v_col: c };
            let q = ops::dense_rows(queries.x, &w, &bias, 0..c, identity, 0.0, cx.mode); // [Nq, C]
            let kv = ops::dense_rows(kv_input, &w, &bias, c..3 * c, identity, 0.0, cx.mode); // [N, 2C]
            (q, Some(kv), layout)
        } else {
            let project = |x: Tensor2<E, D, T>, name: &str| {
                let bias = cx.bias_or_zero(&format!("{name}.bias"), c);
                ops::dense(x, &cx.matrix(&format!("{name}.weight")), &bias, identity, 0.0, cx.mode)
            };
            let q = project(queries.x, "q"); // [Nq, C]
            let k = project(kv_input.retaped::<T>(), "k"); // [N, C]
            let v = project(kv_input, "v"); // [N, C]
            let kv = (k, v).concat_along(Axis::<1>); // [N, 2C]
            let layout = AttnLayout { batch: b, heads, width: c, q_col: 0, k_col: 0, v_col: c };
            (q, Some(kv), layout)
        };
        let y = ops::core(q_src, kv_src, layout, rope.as_ref(), drop, cx.mode); // [Nq, C]
        let out_bias = cx.bias_or_zero("out.bias", c);
        let x = ops::dense(y, &cx.matrix("out.weight"), &out_bias, identity, 0.0, cx.mode); // [Nq, C]
        Value::Hidden(Act { x, ..queries })
    }
}
