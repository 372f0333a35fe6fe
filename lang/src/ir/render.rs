//! Views of a checked graph: the `check` table, and the graph as text (what snapshots hold),
//! Graphviz DOT or JSON.

use super::{Checked, Convention, FlopPlan, Flops, Objective, Op};
use crate::units::{bytes, human, thousands};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// How `tinyarch graph` prints a graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Dot,
    Json,
}

fn header(c: &Checked) -> String {
    let g = &c.graph;
    let params: Vec<String> = g.params.iter().map(|p| format!("{} = {}", p.name, p.value)).collect();
    format!("model `{}` ({}) with vocab = {}", g.name, params.join(", "), g.vocab.size)
}

/// The per-layer table `tinyarch check` prints for training under `objective`, then totals.
/// `convention` is the one a budget would use; all three are shown.
pub fn check_table(c: &Checked, convention: Convention, objective: Objective) -> String {
    let plan = c.plan(objective);
    let mut out = String::new();
    let _ = writeln!(out, "{}", header(c));
    out.push_str(&aligned(&layer_rows(c, plan)));
    out.push_str(&totals(c, plan, convention));
    out
}

/// One row per node: where it is written, what it is, and what it costs under `plan`.
fn layer_rows(c: &Checked, plan: &FlopPlan) -> Vec<[String; 8]> {
    let g = &c.graph;
    let mut rows = vec![[
        "line".to_string(),
        "layer".into(),
        "kind".into(),
        "output shape".into(),
        "computes".into(),
        "params".into(),
        "matmul FLOPs".into(),
        "other FLOPs".into(),
    ]];
    for ((node, checked), planned) in g.nodes.iter().zip(&c.nodes).zip(&plan.nodes) {
        let (line, path) = match node.op {
            Op::Input => (String::new(), "(input)".to_string()),
            _ => (source_line(g, node.span), node.path.clone()),
        };
        let computes = if planned.last_only && checked.shape.rows() > 1 { "last" } else { "all" };
        rows.push([
            line,
            path,
            node.op.kind_name().to_string(),
            checked.shape.to_string(),
            computes.to_string(),
            thousands(checked.param_count()),
            thousands(planned.flops.matmul),
            thousands(planned.flops.other()),
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

fn totals(c: &Checked, plan: &FlopPlan, convention: Convention) -> String {
    let s = &c.summary;
    let f = &plan.forward;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  parameters: {} ({} in embeddings, {} other)",
        thousands(s.params),
        thousands(s.embedding_params),
        thousands(s.params - s.embedding_params)
    );
    let _ = writeln!(
        out,
        "  forward FLOPs per sample, objective `{}`: matmul {}, elementwise {}, softmax {}, norm {}",
        plan.objective,
        human(f.matmul),
        human(f.elementwise),
        human(f.softmax),
        human(f.norm)
    );
    let conventions: Vec<String> = Convention::ALL
        .iter()
        .map(|&k| {
            let mark = if k == convention { " (budget)" } else { "" };
            format!("{k} {}{mark}", human(plan.training.get(k)))
        })
        .collect();
    let _ = writeln!(
        out,
        "  training FLOPs per sample, objective `{}` (predicting {} {}): {}",
        plan.objective,
        plan.predicted_tokens,
        if plan.predicted_tokens == 1 { "position" } else { "positions" },
        conventions.join(", ")
    );
    let m = &s.memory;
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
    let _ = writeln!(out, "{}", header(c));
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
            "objective {objective}: training FLOPs per sample: exact {}, kaplan {}, paper {}",
            t.exact, t.kaplan, t.paper
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
