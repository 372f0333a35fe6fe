//! Views of a checked graph: the `check` table, and the graph as text (what snapshots hold),
//! Graphviz DOT or JSON.

use super::{Checked, Convention, Flops, MemoryEstimate, Objective, Op, TrainingFlops};
use crate::units::{bytes, human, thousands};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// How `tinyarch graph` prints a graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Dot,
    Json,
}

fn header(model: &str, parameters: &[(String, String)], vocab: u64) -> String {
    let params: Vec<String> = parameters.iter().map(|(name, value)| format!("{name} = {value}")).collect();
    format!("model `{model}` ({}) with vocab = {vocab}", params.join(", "))
}

/// The model's parameters as resolved: `(name, value)`.
fn parameters(c: &Checked) -> Vec<(String, String)> {
    c.graph.params.iter().map(|p| (p.name.clone(), p.value.to_string())).collect()
}

/// What `tinyarch check` reports for one model trained under `objective`: a row per layer and
/// the totals. `tinyarch check --json` prints it; [`check_table`] renders it as text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub model: String,
    /// The model's parameters as resolved: `(name, value)`.
    pub parameters: Vec<(String, String)>,
    pub vocab: u64,
    pub context: u64,
    /// `last` or `all`.
    pub objective: String,
    /// The convention a budget would count in.
    pub convention: Convention,
    pub layers: Vec<LayerRow>,
    pub totals: Totals,
}

/// One node of the graph under the report's objective.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRow {
    /// `12`, or `blocks.model:12` for a line of an included file; `None` for the input.
    pub line: Option<String>,
    /// The layer's path (`blocks.0.attn`), or `(input)`.
    pub layer: String,
    pub kind: String,
    /// The output shape per sample (`[128, 64]`).
    pub shape: String,
    /// `last` when only the last position is computed, else `all`.
    pub computes: String,
    pub params: u64,
    pub matmul_flops: u64,
    /// Elementwise, softmax and norm FLOPs.
    pub other_flops: u64,
}

/// The whole model, per sample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub params: u64,
    pub embedding_params: u64,
    /// Forward FLOPs per sample by kind of work.
    pub forward: Flops,
    /// Positions the loss scores per sample.
    pub predicted_tokens: u64,
    /// Training FLOPs per sample in every convention.
    pub training: TrainingFlops,
    pub memory: MemoryEstimate,
}

/// The report of a checked model trained under `objective`, with `convention` as a budget's.
pub fn check_report(c: &Checked, convention: Convention, objective: Objective) -> CheckReport {
    let g = &c.graph;
    let plan = c.plan(objective);
    let layers = g
        .nodes
        .iter()
        .zip(&c.nodes)
        .zip(&plan.nodes)
        .map(|((node, checked), planned)| {
            let (line, layer) = match node.op {
                Op::Input => (None, "(input)".to_string()),
                _ => (Some(source_line(g, node.span)), node.path.clone()),
            };
            let last = planned.last_only && checked.shape.rows() > 1;
            LayerRow {
                line,
                layer,
                kind: node.op.kind_name().to_string(),
                shape: checked.shape.to_string(),
                computes: if last { "last" } else { "all" }.to_string(),
                params: checked.param_count(),
                matmul_flops: planned.flops.matmul,
                other_flops: planned.flops.other(),
            }
        })
        .collect();
    let s = &c.summary;
    CheckReport {
        model: g.name.clone(),
        parameters: parameters(c),
        vocab: g.vocab.size,
        context: g.context.size,
        objective: plan.objective.to_string(),
        convention,
        layers,
        totals: Totals {
            params: s.params,
            embedding_params: s.embedding_params,
            forward: plan.forward,
            predicted_tokens: plan.predicted_tokens,
            training: plan.training,
            memory: s.memory,
        },
    }
}

/// The per-layer table `tinyarch check` prints for training under `objective`, then totals.
/// `convention` is the one a budget would use; all three are shown.
pub fn check_table(c: &Checked, convention: Convention, objective: Objective) -> String {
    check_report(c, convention, objective).to_text()
}

impl CheckReport {
    /// The report as `tinyarch check` prints it: a heading, the layer table, the totals.
    pub fn to_text(&self) -> String {
        let mut out = header(&self.model, &self.parameters, self.vocab) + "\n";
        out.push_str(&aligned(&layer_rows(&self.layers)));
        out.push_str(&totals(self));
        out
    }
}

/// The layer rows as text, under a heading row.
fn layer_rows(layers: &[LayerRow]) -> Vec<[String; 8]> {
    let heading = ["line", "layer", "kind", "output shape", "computes", "params", "matmul FLOPs", "other FLOPs"];
    let mut rows = vec![heading.map(String::from)];
    for l in layers {
        rows.push([
            l.line.clone().unwrap_or_default(),
            l.layer.clone(),
            l.kind.clone(),
            l.shape.clone(),
            l.computes.clone(),
            thousands(l.params),
            thousands(l.matmul_flops),
            thousands(l.other_flops),
        ]);
    }
    rows
}

/// `12`, or `blocks.model:12` for a line of an included file.
fn source_line(g: &super::Graph, span: crate::diag::Span) -> String {
    let (line, _) = g.sources.line_col(span);
    match span.file {
        0 => line.to_string(),
        f => {
            let name = g.sources.name(f);
            let short = Path::new(name).file_name().map_or(name.into(), |n| n.to_string_lossy());
            format!("{short}:{line}")
        }
    }
}

/// Rows as columns: numbers (and the line) right-aligned, text left-aligned.
fn aligned<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let right = |column: usize| column == 0 || column + 3 >= N;
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(
                |(i, cell)| {
                    if right(i) { format!("{cell:>w$}", w = widths[i]) } else { format!("{cell:<w$}", w = widths[i]) }
                },
            )
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
    out
}

fn totals(r: &CheckReport) -> String {
    let t = &r.totals;
    let f = &t.forward;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  parameters: {} ({} in embeddings, {} other)",
        thousands(t.params),
        thousands(t.embedding_params),
        thousands(t.params - t.embedding_params)
    );
    let _ = writeln!(
        out,
        "  forward FLOPs per sample, objective `{}`: matmul {}, elementwise {}, softmax {}, norm {}",
        r.objective,
        human(f.matmul),
        human(f.elementwise),
        human(f.softmax),
        human(f.norm)
    );
    let conventions: Vec<String> = Convention::ALL
        .iter()
        .map(|&k| {
            let mark = if k == r.convention { " (budget)" } else { "" };
            format!("{k} {}{mark}", human(t.training.get(k)))
        })
        .collect();
    let _ = writeln!(
        out,
        "  training FLOPs per sample, objective `{}` (predicting {} {}): {}",
        r.objective,
        t.predicted_tokens,
        if t.predicted_tokens == 1 { "position" } else { "positions" },
        conventions.join(", ")
    );
    let m = &t.memory;
    let _ = writeln!(
        out,
        "  training memory at batch {}: {} (parameters, gradients, Adam: {}; activations: {})",
        m.batch,
        bytes(m.total),
        bytes(m.parameters),
        bytes(m.activations)
    );
    out
}

/// The compiled graph in the given format.
pub fn render_graph(c: &Checked, format: Format) -> String {
    match format {
        Format::Text => text(c),
        Format::Dot => dot(c),
        Format::Json => serde_json::to_string_pretty(&json(c)).unwrap_or_default() + "\n",
    }
}

fn call(op: &Op) -> String {
    match op {
        Op::Layer { kind, args } => {
            let args: Vec<String> = args.items.iter().map(|(n, v)| format!("{n} = {}", v.value)).collect();
            format!("{}({})", kind.name(), args.join(", "))
        }
        other => other.kind_name().to_string(),
    }
}

fn text(c: &Checked) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", header(&c.graph.name, &parameters(c), c.graph.vocab.size));
    for (i, (node, checked)) in c.graph.nodes.iter().zip(&c.nodes).enumerate() {
        let inputs: Vec<String> = node.inputs.iter().map(|i| format!("%{i}")).collect();
        let _ = write!(out, "%{i} {} = {}", node.path, call(&node.op));
        if !inputs.is_empty() {
            let _ = write!(out, " <- {}", inputs.join(", "));
        }
        let _ = writeln!(out, " : {}", checked.shape);
        for p in &checked.params {
            let dims: Vec<String> = p.shape.iter().map(u64::to_string).collect();
            let tied = p.tied_to.as_ref().map(|t| format!(" tied to {t}")).unwrap_or_default();
            let _ = writeln!(out, "    {} [{}] {:?} {:?}{tied}", p.name, dims.join(", "), p.role, p.init);
        }
    }
    let _ = writeln!(out, "parameters {}", thousands(c.summary.params));
    for objective in [Objective::All, Objective::Last].into_iter().filter(|&o| c.fits(o)) {
        let (f, t) = (&c.plan(objective).forward, &c.plan(objective).training);
        let _ = writeln!(
            out,
            "objective {objective}: forward FLOPs per sample: matmul {}, elementwise {}, softmax {}, norm {}",
            f.matmul, f.elementwise, f.softmax, f.norm
        );
        let _ = writeln!(
            out,
            "objective {objective}: training FLOPs per sample: exact {}, dense {}, kaplan {}, paper {}",
            t.exact, t.dense, t.kaplan, t.paper
        );
    }
    out
}

fn dot(c: &Checked) -> String {
    let mut out =
        format!("digraph \"{}\" {{\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n", c.graph.name);
    for (i, (node, checked)) in c.graph.nodes.iter().zip(&c.nodes).enumerate() {
        let label = format!("{}\\n{}\\n{}", node.path, node.op.kind_name(), checked.shape).replace('"', "\\\"");
        let _ = writeln!(out, "  n{i} [label=\"{label}\"];");
        for input in &node.inputs {
            let _ = writeln!(out, "  n{input} -> n{i};");
        }
    }
    out.push_str("}\n");
    out
}

#[derive(Serialize)]
struct JsonGraph<'a> {
    model: &'a str,
    params: Vec<(&'a str, String)>,
    vocab: u64,
    context: u64,
    nodes: Vec<JsonNode<'a>>,
    summary: &'a super::Summary,
    /// One per objective the model can train under.
    plans: Vec<JsonPlan>,
}

#[derive(Serialize)]
struct JsonPlan {
    objective: &'static str,
    predicted_tokens: u64,
    forward: Flops,
    training: super::TrainingFlops,
}

#[derive(Serialize)]
struct JsonNode<'a> {
    path: &'a str,
    kind: &'a str,
    args: Vec<(&'a str, String)>,
    inputs: &'a [usize],
    shape: String,
    dims: Vec<u64>,
    params: Vec<(&'a str, &'a [u64])>,
    /// Forward FLOPs per sample under each objective the model can train under.
    flops: Vec<(&'static str, Flops)>,
}

fn json(c: &Checked) -> JsonGraph<'_> {
    let g = &c.graph;
    let objectives: Vec<Objective> = [Objective::All, Objective::Last].into_iter().filter(|&o| c.fits(o)).collect();
    JsonGraph {
        model: &g.name,
        params: g.params.iter().map(|p| (p.name.as_str(), p.value.to_string())).collect(),
        vocab: g.vocab.size,
        context: g.context.size,
        nodes: g
            .nodes
            .iter()
            .zip(&c.nodes)
            .enumerate()
            .map(|(i, (n, k))| JsonNode {
                path: &n.path,
                kind: n.op.kind_name(),
                args: match &n.op {
                    Op::Layer { args, .. } => args.items.iter().map(|(a, v)| (*a, v.value.to_string())).collect(),
                    _ => Vec::new(),
                },
                inputs: &n.inputs,
                shape: k.shape.symbolic(),
                dims: k.shape.dims.iter().map(|d| d.size).collect(),
                params: k.params.iter().map(|p| (p.name.as_str(), p.shape.as_slice())).collect(),
                flops: objectives.iter().map(|&o| (o.name(), c.plan(o).nodes[i].flops)).collect(),
            })
            .collect(),
        summary: &c.summary,
        plans: objectives
            .iter()
            .map(|&o| {
                let plan = c.plan(o);
                JsonPlan {
                    objective: o.name(),
                    predicted_tokens: plan.predicted_tokens,
                    forward: plan.forward,
                    training: plan.training,
                }
            })
            .collect(),
    }
}
