//! The computation planned for a training objective: which positions each node computes, and
//! what that costs. This is the one FLOP accounting: `check`, `run`, `sweep`, `bench` and the
//! reports read it, and the executor runs exactly this plan.
//!
//! Under `last` only the last position's logits are read, so, walking the graph backwards, a
//! node needs only its last position when every reader is position-wise and needs only its own
//! last position. Attention needs every position of its input (keys and values) but then
//! computes its queries, scores and output for the last position alone.

use super::flops::{FlopInputs, Flops, TrainingFlops};
use super::{CheckedNode, Graph, Op};
use std::fmt;
use std::str::FromStr;

/// Which positions of a window the loss scores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Objective {
    /// Only the token after the window (the study's): one prediction per window.
    #[default]
    Last,
    /// Every position predicts its next token.
    All,
}

impl Objective {
    pub const ALL: [Objective; 2] = [Objective::Last, Objective::All];

    pub fn name(self) -> &'static str {
        match self {
            Objective::Last => "last",
            Objective::All => "all",
        }
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Objective {
    type Err = String;
    fn from_str(s: &str) -> Result<Objective, String> {
        Objective::ALL
            .into_iter()
            .find(|o| o.name() == s)
            .ok_or_else(|| format!("unknown objective `{s}`: expected `last` or `all`"))
    }
}

/// What one objective's training computes, per sample.
#[derive(Clone, Debug)]
pub struct FlopPlan {
    pub objective: Objective,
    /// Parallel to the graph's nodes.
    pub nodes: Vec<PlannedNode>,
    /// Forward FLOPs of everything computed.
    pub forward: Flops,
    /// Predictions the loss reads per sample: 1 under `last`, `context` under `all`.
    pub predicted_tokens: u64,
    /// What the budget is charged per sample, in every convention.
    pub training: TrainingFlops,
}

/// One node under a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedNode {
    /// Computes only the last position of each window.
    pub last_only: bool,
    /// Rows (positions) of its output it computes per sample.
    pub rows: u64,
    pub flops: Flops,
    /// How many nodes read its value.
    pub readers: usize,
}

/// What a plan is computed from besides the graph: the checked nodes and the model's totals.
pub(super) struct PlanInputs<'a> {
    pub graph: &'a Graph,
    pub nodes: &'a [CheckedNode],
    pub output_positions: u64,
    pub params: u64,
    pub embedding_params: u64,
    pub kaplan_context: u64,
}

/// Plans `objective`; `None` when a total overflows 64 bits.
pub(super) fn plan(inputs: &PlanInputs, objective: Objective) -> Option<FlopPlan> {
    let nodes = &inputs.graph.nodes;
    let n = nodes.len();
    let positional_output = inputs.output_positions > 1;
    let mut last_only = vec![true; n];
    last_only[n - 1] = objective == Objective::Last && positional_output;
    let mut readers = vec![0; n];
    for i in (0..n).rev() {
        let position_wise = match (&nodes[i].op, &inputs.nodes[i].layer) {
            (Op::Add, _) => true,
            (_, Some(layer)) => layer.position_wise(),
            _ => false,
        };
        for &j in &nodes[i].inputs {
            readers[j] += 1;
            if !(position_wise && last_only[i]) {
                last_only[j] = false;
            }
        }
    }
    let mut planned = Vec::with_capacity(n);
    let mut forward = Flops::default();
    for (i, checked) in inputs.nodes.iter().enumerate() {
        let rows = if last_only[i] { 1 } else { checked.shape.rows() };
        let flops = match &checked.layer {
            Some(layer) => layer.flops(rows),
            None if matches!(nodes[i].op, Op::Add) => {
                Flops::elementwise(rows * checked.shape.width().map_or(1, |d| d.size))
            }
            None => Flops::default(),
        };
        forward = forward.checked_add(flops)?;
        planned.push(PlannedNode { last_only: last_only[i], rows, flops, readers: readers[i] });
    }
    let predicted_tokens = if objective == Objective::Last { 1 } else { inputs.output_positions };
    let mut dense_forward_matmul = 0u64;
    for checked in inputs.nodes {
        if let Some(layer) = &checked.layer {
            dense_forward_matmul = dense_forward_matmul.checked_add(layer.flops(checked.shape.rows()).matmul)?;
        }
    }
    let training = FlopInputs {
        forward_matmul: forward.matmul,
        dense_forward_matmul,
        non_embedding_params: inputs.params - inputs.embedding_params,
        all_params: inputs.params,
        kaplan_context: inputs.kaplan_context,
        context: inputs.graph.context.size,
        predicted_tokens,
    }
    .training()?;
    Some(FlopPlan { objective, nodes: planned, forward, predicted_tokens, training })
}
