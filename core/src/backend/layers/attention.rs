//! The forward pass of `attention` (its shape rule, parameters and FLOPs: `tinyarch_lang::layers::attention`).

use crate::backend::forward::select_last;
use crate::backend::kernels::AttnLayout;
use crate::backend::{Act, Cx, Flow, Forward, Kernels, Tensor2, ops};
use dfdx::prelude::*;
use tinyarch_lang::layers::attention::AttentionConfig;

/// What the attention core reads: queries, keys and values (`None`: in the query tensor), layout.
type CoreInputs<E, D, T> = (Tensor2<E, D, T>, Option<Tensor2<E, D, T>>, AttnLayout);

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for AttentionConfig {
    fn forward(&self, x: Flow<E, D, T>, cx: &Cx<E, D>) -> Flow<E, D, T> {
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
        Flow::Hidden(Act { x, ..queries })
    }
}
