//! The report's tables, in the study's layout.

use super::{Group, Row};
use crate::ir::Convention;
use crate::units::{sci, thousands};

/// One Markdown table per group: model, parameters, FLOPs in each convention, test NLL (mean
/// ± sd over seeds), perplexity and bits per token, and the published value where known. Each
/// table sits between mdBook anchors named [`anchor`], so a chapter can include it alone.
pub fn markdown(groups: &[Group]) -> String {
    let mut out = String::new();
    for g in groups {
        let with_published = g.rows.iter().any(|r| r.published.is_some());
        out.push_str(&format!(
            "## {} ({} split, {}), objective `{}`\n\n",
            g.corpus, g.split_set, g.tokenizer, g.objective
        ));
        out.push_str(&format!("<!-- ANCHOR: {} -->\n", anchor(g)));
        out.push_str(&format!(
            "| model | budget | params | FLOPs exact | FLOPs dense | FLOPs Kaplan | FLOPs paper | steps | test NLL | perplexity | {} | seeds | wall s |",
            g.bits_unit()
        ));
        out.push_str(if with_published { " published | difference |\n" } else { "\n" });
        out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        out.push_str(if with_published { "---:|---:|\n" } else { "\n" });
        for row in &g.rows {
            out.push_str(&row_line(row, with_published));
        }
        out.push_str(&format!("<!-- ANCHOR_END: {} -->\n\n", anchor(g)));
    }
    out
}

/// The name of a group's table anchor: `table-tiny-shakespeare-last`. mdBook's anchor names
/// take letters, digits, `_` and `-` only, so a corpus named after a file has its dots replaced.
pub fn anchor(g: &Group) -> String {
    let stem: String =
        g.stem().chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '-' }).collect();
    format!("table-{stem}")
}

fn row_line(row: &Row, with_published: bool) -> String {
    let nll = &row.test_nll;
    let finite = nll.n > 0;
    let dash = || "-".to_string();
    let nll_text = nll.text();
    let seeds = if row.diverged > 0 {
        format!("{} ({} diverged)", row.runs.len(), row.diverged)
    } else {
        row.runs.len().to_string()
    };
    let mut line = format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        row.label,
        row.limits(),
        thousands(row.params),
        sci(row.flops(Convention::Exact)),
        sci(row.flops(Convention::Dense)),
        sci(row.flops(Convention::Kaplan)),
        sci(row.flops(Convention::Paper)),
        thousands(row.steps.round() as u64),
        nll_text,
        if finite { format!("{:.2}", nll.mean.exp()) } else { dash() },
        if finite { format!("{:.3}", nll.mean / std::f64::consts::LN_2) } else { dash() },
        seeds,
        thousands(row.wall_seconds.round() as u64),
    );
    if with_published {
        line.push_str(&row.published_cells());
    }
    line.push('\n');
    line
}
