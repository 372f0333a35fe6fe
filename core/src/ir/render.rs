//! Views of a checked graph: the `check` table, and the graph as text (what snapshots hold),
//! Graphviz DOT or JSON.

use super::{Checked, Convention, Op};
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

/// The per-layer table `tinyarch check` prints, then totals. `convention` is the one a budget
/// would use; all three are shown.
pub fn check_table(c: &Checked, convention: Convention) -> String {
    let g = &c.graph;
    let mut rows = vec![[
        "line".to_string(),
        "layer".into(),
        "kind".into(),
        "output shape".into(),
        "params".into(),
        "matmul FLOPs".into(),
        "other FLOPs".into(),
    ]];
    for (node, checked) in g.nodes.iter().zip(&c.nodes) {
        let (file_line, path) = match node.op {
            Op::Input => (String::new(), "(input)".to_string()),
            _ => {
                let (line, _) = g.sources.line_col(node.span);
                // Lines of included files carry the file's name; the model's own need none.
                let file = match node.span.file {
                    0 => String::new(),
                    f => {
                        let name = g.sources.name(f);
                        let short = Path::new(name).file_name().map_or(name.into(), |n| n.to_string_lossy());
                        format!("{short}:")
                    }
                };
                (format!("{file}{line}"), node.path.clone())
            }
        };
        rows.push([
            file_line,
            path,
            node.op.kind_name().to_string(),
            checked.shape.to_string(),
            thousands(checked.param_count()),
            thousands(checked.flops.matmul),
            thousands(checked.flops.other()),
        ]);
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "{}", header(c));
    for row in &rows {
        let _ = writeln!(
            out,
            "  {:>w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {:>w4$}  {:>w5$}  {:>w6$}",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4],
            w5 = widths[5],
            w6 = widths[6],
        );
    }
    let s = &c.summary;
    let f = &s.forward;
    let _ = writeln!(
        out,
        "  parameters: {} ({} in embeddings, {} other)",
        thousands(s.params),
        thousands(s.embedding_params),
        thousands(s.params - s.embedding_params)
    );
    let _ = writeln!(
        out,
        "  forward FLOPs per sample: matmul {}, elementwise {}, softmax {}, norm {}",
        human(f.matmul),
        human(f.elementwise),
        human(f.softmax),
        human(f.norm)
    );
    let conventions: Vec<String> = Convention::ALL
        .iter()
        .map(|&k| {
            let mark = if k == convention { " (budget)" } else { "" };
            format!("{k} {}{mark}", human(s.training.get(k)))
        })
        .collect();
    let _ = writeln!(
        out,
        "  training FLOPs per sample (predicting {} {}): {}",
        s.predicted_tokens,
        if s.predicted_tokens == 1 { "position" } else { "positions" },
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
    let s = &c.summary;
    let _ = writeln!(out, "parameters {}", thousands(s.params));
    let _ = writeln!(
        out,
        "forward FLOPs per sample: matmul {}, elementwise {}, softmax {}, norm {}",
        s.forward.matmul, s.forward.elementwise, s.forward.softmax, s.forward.norm
    );
    let _ = writeln!(
        out,
        "training FLOPs per sample: exact {}, kaplan {}, paper {}",
        s.training.exact, s.training.kaplan, s.training.paper
    );
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
    flops: super::Flops,
}

fn json(c: &Checked) -> JsonGraph<'_> {
    let g = &c.graph;
    JsonGraph {
        model: &g.name,
        params: g.params.iter().map(|p| (p.name.as_str(), p.value.to_string())).collect(),
        vocab: g.vocab.size,
        context: g.context.size,
        nodes: g
            .nodes
            .iter()
            .zip(&c.nodes)
            .map(|(n, k)| JsonNode {
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
                flops: k.flops,
            })
            .collect(),
        summary: &c.summary,
    }
}
