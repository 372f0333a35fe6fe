//! The static check: shapes, parameter counts, FLOPs and memory, before any tensor exists.
//! If `check` accepts a graph, building and running it cannot meet a shape error.

use super::plan::{FlopPlan, Objective, PlanInputs, plan};
use super::{Elem, Graph, Op, Shape};
use crate::diag::{Code, Diagnostic, Diagnostics, Span};
use crate::layers::{Env, ErrorKind, Layer, LayerError, ParamSpec};
use crate::units::{bytes, thousands};
use serde::Serialize;

/// The batch size that training, benchmarks and the memory estimate use unless told otherwise.
pub const DEFAULT_BATCH: u64 = 64;

/// What the checker refuses beyond correctness.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Batch size the memory estimate assumes.
    pub batch: u64,
    /// Largest training memory estimate accepted, in bytes.
    pub max_memory: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { batch: DEFAULT_BATCH, max_memory: 16 << 30 }
    }
}

/// A graph that passed the check, with every node's shape and parameters, and the plan of its
/// computation under each objective.
#[derive(Debug)]
pub struct Checked {
    pub graph: Graph,
    /// Parallel to `graph.nodes`.
    pub nodes: Vec<CheckedNode>,
    pub summary: Summary,
    /// Indexed as [`Objective::ALL`].
    plans: [FlopPlan; 2],
}

impl Checked {
    /// What training under `objective` computes and costs: the figure a budget is charged.
    pub fn plan(&self, objective: Objective) -> &FlopPlan {
        match objective {
            Objective::Last => &self.plans[0],
            Objective::All => &self.plans[1],
        }
    }

    /// Whether `objective` can train this model: scoring every position needs per-position logits.
    pub fn fits(&self, objective: Objective) -> bool {
        objective == Objective::Last || self.summary.predicted_tokens > 1
    }
}

#[derive(Debug)]
pub struct CheckedNode {
    pub shape: Shape,
    /// `None` for the input and residual joins.
    pub layer: Option<Box<dyn Layer>>,
    /// With full names (`blocks.0.attn.qkv.weight`).
    pub params: Vec<ParamSpec>,
}

impl CheckedNode {
    pub fn param_count(&self) -> u64 {
        self.params.iter().map(ParamSpec::count).sum()
    }
}

/// Totals for the whole model, per sample.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub params: u64,
    /// Token and position embeddings (Kaplan's N leaves them out).
    pub embedding_params: u64,
    /// Sum of the attention layers' `2 * n_ctx * d_attn`.
    pub kaplan_context: u64,
    /// Predictions per sample the output gives: `context` or 1.
    pub predicted_tokens: u64,
    pub memory: MemoryEstimate,
}

/// Training memory for one batch, in bytes (f32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MemoryEstimate {
    pub batch: u64,
    /// Weights, gradients and Adam's two moments.
    pub parameters: u64,
    /// Activations kept for the backward pass.
    pub activations: u64,
    pub total: u64,
}

/// How far below `u64::MAX` a layer's output elements must stay (see `check_nodes`).
const OUTPUT_MARGIN: u64 = 64;

/// Checks a resolved graph. Stops at the first shape error: what follows depends on it.
pub fn check(graph: Graph, limits: &Limits) -> Result<Checked, Diagnostics> {
    let result = check_nodes(&graph).and_then(|nodes| {
        let output = &nodes.last().expect("a graph has an input node").shape;
        let predicted_tokens = output_tokens(&graph, output)?;
        let summary = summarize(&graph, &nodes, predicted_tokens, limits)?;
        let inputs = PlanInputs {
            graph: &graph,
            nodes: &nodes,
            output_positions: predicted_tokens,
            params: summary.params,
            embedding_params: summary.embedding_params,
            kaplan_context: summary.kaplan_context,
        };
        let plans = Objective::ALL.map(|o| plan(&inputs, o));
        match plans {
            [Some(last), Some(all)] => Ok((nodes, summary, [last, all])),
            _ => Err(overflow(&graph)),
        }
    });
    match result {
        Ok((nodes, summary, plans)) => Ok(Checked { graph, nodes, summary, plans }),
        Err(d) => Err(fail(graph, d)),
    }
}

fn check_nodes(graph: &Graph) -> Result<Vec<CheckedNode>, Diagnostic> {
    let mut nodes: Vec<CheckedNode> = Vec::with_capacity(graph.nodes.len());
    let mut params: Vec<ParamSpec> = Vec::new();
    for node in &graph.nodes {
        let checked = match &node.op {
            Op::Input => {
                CheckedNode { shape: Shape::tokens(vec![graph.context.clone()]), layer: None, params: Vec::new() }
            }
            Op::Layer { kind, args } => {
                let input = &nodes[node.inputs[0]].shape;
                let env = Env {
                    vocab: graph.vocab.clone(),
                    context: graph.context.clone(),
                    path: &node.path,
                    earlier: &params,
                };
                let layer =
                    kind.configure(args, input, &env).map_err(|e| layer_diagnostic(e, node.span, args, kind.name()))?;
                let own: Vec<ParamSpec> = layer
                    .parameters()
                    .into_iter()
                    .map(|mut p| {
                        p.name = format!("{}.{}", node.path, p.name);
                        p
                    })
                    .collect();
                params.extend(own.iter().cloned());
                CheckedNode { shape: layer.output(), params: own, layer: Some(layer) }
            }
            Op::Add => {
                let (body, skip) = (&nodes[node.inputs[0]].shape, &nodes[node.inputs[1]].shape);
                if !body.same_sizes(skip) {
                    return Err(Diagnostic::new(
                        Code::ResidualMismatch,
                        format!("the residual body turns {skip} into {body}"),
                    )
                    .at(node.span, format!("adds {body} back to {skip}"))
                    .help("a residual body must end with the shape it started with"));
                }
                CheckedNode { shape: skip.clone(), layer: None, params: Vec::new() }
            }
        };
        // Every FLOP formula is a small multiple of a layer's output elements (or bounds itself):
        // with this margin no per-layer count can overflow.
        if checked.shape.checked_elements().and_then(|e| e.checked_mul(OUTPUT_MARGIN)).is_none() {
            let what = if matches!(node.op, Op::Input) { "the model's input" } else { "this layer's output" };
            return Err(Diagnostic::new(Code::Overflow, format!("{what} {} has too many elements", checked.shape))
                .at(node.span, what)
                .help("reduce the context or the widths"));
        }
        nodes.push(checked);
    }
    Ok(nodes)
}

/// Predictions per sample for a valid output (`[vocab]`: 1, `[context, vocab]`: context).
fn output_tokens(graph: &Graph, output: &Shape) -> Result<u64, Diagnostic> {
    let vocab = graph.vocab.size;
    let tokens = match output.dims.as_slice() {
        _ if output.elem != Elem::Float => None,
        [v] if v.size == vocab => Some(1),
        [t, v] if t.size == graph.context.size && v.size == vocab => Some(t.size),
        _ => None,
    };
    tokens.ok_or_else(|| {
        let last = graph.nodes.last().expect("a graph has an input node");
        let span = if graph.nodes.len() > 1 { last.span } else { graph.name_span };
        Diagnostic::new(Code::OutputShape, format!("the model ends in {output}, not `[vocab]` or `[context, vocab]`"))
            .at(span, format!("ends in {output}"))
            .note(format!("vocab = {}, context = {}", graph.vocab.size, graph.context.size))
            .help("end the model with `head()`, which maps the width to the vocabulary")
    })
}

fn fail(graph: Graph, d: Diagnostic) -> Diagnostics {
    let sources = std::sync::Arc::try_unwrap(graph.sources).unwrap_or_else(|shared| (*shared).clone());
    Diagnostics { sources, errors: vec![d] }
}

fn overflow(graph: &Graph) -> Diagnostic {
    Diagnostic::new(Code::Overflow, "the model's totals overflow 64 bits")
        .at(graph.name_span, "this model")
        .help("reduce the widths, depth or context")
}

fn summarize(
    graph: &Graph,
    nodes: &[CheckedNode],
    predicted_tokens: u64,
    limits: &Limits,
) -> Result<Summary, Diagnostic> {
    let overflow = || overflow(graph);
    let mut params = 0u64;
    let mut embedding_params = 0u64;
    let mut kaplan_context = 0u64;
    let mut activations = 0u64;
    for n in nodes {
        for p in &n.params {
            params = params.checked_add(p.count()).ok_or_else(overflow)?;
            if p.role.is_embedding() {
                embedding_params += p.count();
            }
        }
        if let Some(layer) = &n.layer {
            kaplan_context = kaplan_context.checked_add(layer.kaplan_context_flops()).ok_or_else(overflow)?;
            activations = activations.checked_add(layer.saved_elements()).ok_or_else(overflow)?;
        }
        activations = activations.checked_add(n.shape.elements()).ok_or_else(overflow)?;
    }
    let memory = estimate_memory(params, activations, limits.batch).ok_or_else(overflow)?;
    if memory.total > limits.max_memory {
        return Err(Diagnostic::new(
            Code::MemoryLimit,
            format!(
                "training `{}` needs about {} at batch {}, over the limit of {}",
                graph.name,
                bytes(memory.total),
                limits.batch,
                bytes(limits.max_memory)
            ),
        )
        .at(graph.name_span, format!("{} parameters, {} of activations", thousands(params), bytes(memory.activations)))
        .help("raise the limit with `--max-memory`, or make the model or batch smaller"));
    }
    Ok(Summary { params, embedding_params, kaplan_context, predicted_tokens, memory })
}

fn estimate_memory(params: u64, activations_per_sample: u64, batch: u64) -> Option<MemoryEstimate> {
    const F32: u64 = 4;
    let parameters = params.checked_mul(4 * F32)?;
    let activations = activations_per_sample.checked_mul(batch)?.checked_mul(F32)?;
    Some(MemoryEstimate { batch, parameters, activations, total: parameters.checked_add(activations)? })
}

fn layer_diagnostic(e: LayerError, call: Span, args: &crate::layers::Args, kind: &str) -> Diagnostic {
    let code = match e.kind {
        ErrorKind::InvalidArgument => Code::InvalidArgument,
        ErrorKind::InputShape => Code::InputShape,
        ErrorKind::Indivisible => Code::Indivisible,
        ErrorKind::Tying => Code::Tying,
        ErrorKind::Overflow => Code::Overflow,
    };
    // The caret goes under the blamed argument where it was written, else under the call.
    let span = e.arg.and_then(|a| args.get(a)).and_then(|v| v.span).unwrap_or(call);
    let label = e.label.unwrap_or_else(|| format!("in this `{kind}`"));
    let mut d = Diagnostic::new(code, e.message).at(span, label);
    if span != call {
        d = d.also(call, format!("in this `{kind}`"));
    }
    if let Some(h) = e.help {
        d = d.help(h);
    }
    d
}
