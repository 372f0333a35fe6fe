//! A report's summary (`summary.md`), the part a book chapter includes: no links and no plots,
//! so it reads the same wherever it is included.
//!
//! - Where the runs climb a ladder of budgets: test NLL by model and budget, and at each budget
//!   the leader, its margin over the runner-up, and that margin against the seeds' spread.
//! - Elsewhere: one line per model with its test NLL over seeds, steps and wall time; where a
//!   model is varied in one setting (`transformer layers=2`, `layers=3`, ...), what each step of
//!   the setting changes, against the seeds' spread and against the published change.
//! - Where the experiment gives published values: the difference from each, and a tally of those
//!   reproduced within [`REPRODUCED_WITHIN`], between `ANCHOR: tally` markers that mdBook's
//!   `{{#include file:tally}}` can pick out.

use super::{Group, Row};
use crate::ir::Convention;
use crate::units::{sci, thousands};

/// The largest difference from a published test NLL, in nats, still called a reproduction.
pub const REPRODUCED_WITHIN: f64 = 0.05;

/// The summary of `groups`.
pub fn markdown(groups: &[Group]) -> String {
    let mut out = String::new();
    let mut tally: Vec<(String, f64)> = Vec::new();
    for g in groups {
        out.push_str(&format!(
            "#### {} ({} split, {}), objective `{}`\n\n",
            g.corpus, g.split_set, g.tokenizer, g.objective
        ));
        // A ladder is models climbing budgets they share; budgets of whole epochs differ per model,
        // and variants of one size share theirs without climbing.
        let (budgets, labels) = (budgets(g), g.labels());
        let shared = budgets.iter().any(|b| labels.iter().filter(|l| cell(g, l, b).is_some()).count() > 1);
        let climbs = labels.iter().any(|l| budgets.iter().filter(|b| cell(g, l, b).is_some()).count() > 1);
        if shared && climbs {
            out.push_str(&ladder(g));
        } else {
            out.push_str(&lines(g));
            out.push_str(&effects(g));
        }
        for row in &g.rows {
            if let (Some(p), true) = (row.published, row.test_nll.n > 0) {
                tally.push((format!("{} ({})", row.label, g.corpus), row.test_nll.mean - p));
            }
        }
    }
    if !tally.is_empty() {
        out.push_str(&tally_text(&tally));
    }
    out
}

/// A budget and its convention (`1e12 exact`): one column of the ladder.
type Budget = (f64, Convention);

/// The distinct budgets of a group, ascending.
fn budgets(g: &Group) -> Vec<Budget> {
    let mut out: Vec<Budget> = Vec::new();
    for r in &g.rows {
        if let Some(b) = r.budget
            && !out.contains(&(b, r.convention))
        {
            out.push((b, r.convention));
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// What one window costs each model in every convention, and how far the study's estimate is
/// from the two exact counts.
fn per_window(g: &Group) -> String {
    let mut out = String::from(
        "Training FLOPs per window:\n\n| model | params | exact | dense | paper | paper / exact | paper / dense |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for label in g.labels() {
        let Some(run) = g.rows.iter().filter(|r| r.label == label).find_map(|r| r.runs.first()) else { continue };
        let f = &run.record.flops_per_sample;
        let ratio = |a: u128, b: u128| if b == 0 { "-".to_string() } else { significant(a as f64 / b as f64, 3) };
        let count = |n: u128| thousands(u64::try_from(n).unwrap_or(u64::MAX));
        out.push_str(&format!(
            "| {label} | {} | {} | {} | {} | {} | {} |\n",
            thousands(run.record.params),
            count(f.exact),
            count(f.dense),
            count(f.paper),
            ratio(f.paper, f.exact),
            ratio(f.paper, f.dense)
        ));
    }
    out.push('\n');
    out
}

/// `x` to `digits` significant digits, without an exponent (`2.25`, `0.325`, `43.0`).
fn significant(x: f64, digits: i32) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (digits - 1 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.decimals$}")
}

/// Test NLL by model and budget, the best of each budget in bold; then each budget's leader.
fn ladder(g: &Group) -> String {
    let budgets = budgets(g);
    let mut out = per_window(g);
    out.push_str("Test NLL (nats), mean ± sd over seeds, at each training-FLOP budget:\n\n| model |");
    for (b, c) in &budgets {
        out.push_str(&format!(" {} {c} |", sci(*b)));
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(budgets.len()));
    out.push('\n');
    let ranked: Vec<Vec<&Row>> = budgets.iter().map(|b| ranking(g, b)).collect();
    for label in g.labels() {
        out.push_str(&format!("| {label} |"));
        for (i, b) in budgets.iter().enumerate() {
            let text = match cell(g, label, b) {
                Some(r) if r.test_nll.n > 0 => {
                    let best = ranked[i].first().is_some_and(|first| first.label == label);
                    if best { format!("**{}**", r.test_nll.text()) } else { r.test_nll.text() }
                }
                Some(_) => "diverged".into(),
                None => "-".into(),
            };
            out.push_str(&format!(" {text} |"));
        }
        out.push('\n');
    }
    out.push_str(
        "\nThe leader at each budget, its margin over the runner-up, and the margin in standard errors \
         (Welch's t over the seeds; below about 2, the seeds do not separate them):\n\n\
         | budget | leader | runner-up | margin (nats) | standard error | t | seeds |\n\
         |---|---|---|---:|---:|---:|---:|\n",
    );
    for (b, rows) in budgets.iter().zip(&ranked) {
        let [first, second, ..] = rows.as_slice() else { continue };
        let (a, c) = (&first.test_nll, &second.test_nll);
        let margin = c.mean - a.mean;
        let (se_text, t_text) = match a.standard_error(c) {
            Some(se) => (format!("{se:.3}"), format!("{:.1}", margin / se)),
            None => ("-".into(), "-".into()),
        };
        out.push_str(&format!(
            "| {} {} | {} | {} | {margin:.3} | {se_text} | {t_text} | {} and {} |\n",
            sci(b.0),
            b.1,
            first.label,
            second.label,
            a.n,
            c.n
        ));
    }
    out.push('\n');
    out
}

/// A row label's model and its one varied setting: `transformer layers=3` gives
/// (`transformer`, `layers`, `3`).
fn varied(label: &str) -> Option<(&str, &str, &str)> {
    let (model, setting) = label.split_once(' ')?;
    let (name, value) = setting.split_once('=')?;
    (!value.contains(' ')).then_some((model, name, value))
}

/// For each model varied in one setting, each value against the one before it: the change in
/// test NLL, its standard error and Welch's t over the seeds, and the published change. An
/// effect is *reproduced* when the seeds separate it (|t| ≥ 2) in the published direction, and
/// *contradicted* when they separate it in the other.
fn effects(g: &Group) -> String {
    // A model's varied setting, and its rows by value: in the order of first appearance, values
    // in ascending order.
    type Sweep<'g> = ((&'g str, &'g str), Vec<(&'g str, &'g Row)>);
    let mut sweeps: Vec<Sweep> = Vec::new();
    for row in &g.rows {
        let Some((model, name, value)) = varied(&row.label) else { continue };
        match sweeps.iter_mut().find(|(key, _)| *key == (model, name)) {
            Some((_, rows)) => rows.push((value, row)),
            None => sweeps.push(((model, name), vec![(value, row)])),
        }
    }
    let mut lines = Vec::new();
    for ((model, name), mut rows) in sweeps {
        // Rows come sorted with digits compared as integers; `p=0.25` before `p=0.5` needs floats.
        if rows.iter().all(|(v, _)| v.parse::<f64>().is_ok()) {
            let number = |v: &str| v.parse::<f64>().unwrap_or(f64::NAN);
            rows.sort_by(|a, b| number(a.0).total_cmp(&number(b.0)));
        }
        for pair in rows.windows(2) {
            let [(prev_value, prev), (value, row)] = pair else { continue };
            let (a, b) = (&prev.test_nll, &row.test_nll);
            if a.n == 0 || b.n == 0 {
                continue;
            }
            let change = b.mean - a.mean;
            let se = a.standard_error(b);
            let t = se.map(|se| change / se);
            let published = prev.published.zip(row.published).map(|(p, q)| q - p);
            let verdict = match (t, published) {
                (None, _) => "one seed: no spread",
                (Some(t), _) if t.abs() < 2.0 => "not separated by the seeds",
                (Some(_), None) => "separated",
                (Some(t), Some(p)) if (t > 0.0) == (p > 0.0) => "reproduced",
                (Some(_), Some(_)) => "contradicted",
            };
            lines.push(format!(
                "| {model} | {name} {prev_value} → {value} | {change:+.3} | {} | {} | {} | {verdict} |\n",
                se.map_or("-".into(), |se| format!("{se:.3}")),
                t.map_or("-".into(), |t| format!("{t:+.1}")),
                published.map_or("-".into(), |p| format!("{p:+.4}")),
            ));
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "What each step of a varied setting changes in test NLL (negative: better), against the seeds' \
         spread (Welch's t) and the published change; an effect is reproduced when |t| ≥ 2 in the \
         published direction:\n\n\
         | model | setting | change | standard error | t | published change | verdict |\n\
         |---|---|---:|---:|---:|---:|---|\n",
    );
    out.extend(lines);
    out.push('\n');
    out
}

/// The row of `label` at budget `b`.
fn cell<'g>(g: &'g Group, label: &str, b: &Budget) -> Option<&'g Row> {
    g.rows.iter().find(|r| r.label == label && r.budget == Some(b.0) && r.convention == b.1)
}

/// The rows of one budget that have a test NLL, best first.
fn ranking<'g>(g: &'g Group, b: &Budget) -> Vec<&'g Row> {
    let mut rows: Vec<&Row> =
        g.labels().into_iter().filter_map(|l| cell(g, l, b)).filter(|r| r.test_nll.n > 0).collect();
    rows.sort_by(|x, y| x.test_nll.mean.total_cmp(&y.test_nll.mean));
    rows
}

/// One line per row: model, limits, size, test NLL, and the published value where known.
fn lines(g: &Group) -> String {
    let published = g.rows.iter().any(|r| r.published.is_some());
    let mut out = String::from("| model | limits | params | steps | test NLL | seeds | wall s |");
    out.push_str(if published { " published | difference |\n" } else { "\n" });
    out.push_str("|---|---|---:|---:|---:|---:|---:|");
    out.push_str(if published { "---:|---:|\n" } else { "\n" });
    for r in &g.rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.limits(),
            thousands(r.params),
            thousands(r.steps.round() as u64),
            r.test_nll.text(),
            r.runs.len(),
            thousands(r.wall_seconds.round() as u64)
        ));
        if published {
            out.push_str(&r.published_cells());
        }
        out.push('\n');
    }
    out.push('\n');
    out
}

/// How many published values are reproduced, and every miss.
fn tally_text(tally: &[(String, f64)]) -> String {
    let within = tally.iter().filter(|(_, d)| d.abs() <= REPRODUCED_WITHIN).count();
    let misses: Vec<String> = tally
        .iter()
        .filter(|(_, d)| d.abs() > REPRODUCED_WITHIN)
        .map(|(label, d)| format!("{label} {d:+.3}"))
        .collect();
    let mut out = String::from("<!-- ANCHOR: tally -->\n");
    out.push_str(&format!(
        "**{within} of {}** published test NLLs reproduced within ±{REPRODUCED_WITHIN} nats",
        tally.len()
    ));
    if misses.is_empty() {
        out.push_str(".\n");
    } else {
        out.push_str(&format!("; outside: {}.\n", misses.join(", ")));
    }
    out.push_str("<!-- ANCHOR_END: tally -->\n");
    out
}

#[cfg(test)]
mod tests {
    use super::{significant, varied};

    #[test]
    fn a_label_names_its_one_varied_setting() {
        assert_eq!(varied("transformer layers=3"), Some(("transformer", "layers", "3")));
        assert_eq!(varied("transformer"), None);
        assert_eq!(varied("mlp hidden=128 p=0.1"), None);
    }

    #[test]
    fn ratios_keep_three_significant_digits() {
        assert_eq!(significant(59_293_952.0 / 26_395_392.0, 3), "2.25");
        assert_eq!(significant(59_293_952.0 / 182_550_528.0, 3), "0.325");
        assert_eq!(significant(274_776_320.0 / 6_389_760.0, 3), "43.0");
        assert_eq!(significant(1234.6, 3), "1235");
    }
}
