//! Reports over run folders: Markdown tables and plots (SVG and PNG).
//!
//! ```text
//! mod     finding runs, labelling them, averaging seeds
//! table   the study's table layout in Markdown
//! plot    test NLL against FLOPs (with the Pareto front) and parameters, loss curves
//! ```

mod plot;
mod table;

pub use plot::plot_group;
pub use table::markdown;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::experiment::{EXPERIMENT_FILE, Experiment};
use crate::ir::Convention;
use crate::train::{self, CurvePoint, RunRecord, Status, StopRules};
use crate::units::sci;

/// What stops a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Train(#[from] train::TrainError),
    #[error(transparent)]
    Experiment(#[from] crate::experiment::ExperimentError),
    #[error("no finished runs under {0}: run `tinyarch run` or `tinyarch sweep` first")]
    Empty(String),
    #[error("cannot write `{path}`: {message}")]
    Write { path: PathBuf, message: String },
}

/// One finished run.
#[derive(Clone, Debug)]
pub struct Run {
    pub dir: PathBuf,
    pub record: RunRecord,
    /// The model and the overrides that tell it apart from other runs of the same model.
    pub label: String,
    pub curve: Vec<CurvePoint>,
}

/// Runs that share a corpus, tokenization and objective: one table, one set of plots.
#[derive(Clone, Debug)]
pub struct Group {
    pub corpus: String,
    pub split_set: String,
    pub tokenizer: String,
    pub objective: String,
    pub rows: Vec<Row>,
}

impl Group {
    /// File-name stem of the group's plots: `tiny-shakespeare-last`.
    pub fn stem(&self) -> String {
        format!("{}-{}", self.corpus, self.objective)
    }

    /// `bits/char`, `bits/token` (BPE) or `bits/word`.
    pub fn bits_unit(&self) -> &'static str {
        match self.tokenizer.as_str() {
            "chars" => "bits/char",
            "bpe" => "bits/token",
            _ => "bits/word",
        }
    }
}

/// The seeds of one model variant under one set of limits (budget and stopping rules).
#[derive(Clone, Debug)]
pub struct Row {
    pub label: String,
    pub convention: Convention,
    pub budget: Option<f64>,
    /// The other stopping rules the runs had.
    pub stop: StopRules,
    pub params: u64,
    /// Mean training FLOPs spent, per convention.
    pub flops: [f64; 3],
    pub steps: f64,
    pub test_nll: Stats,
    /// Runs that did not complete (diverged) are counted here, not averaged.
    pub diverged: usize,
    pub published: Option<f64>,
    pub runs: Vec<Run>,
}

impl Row {
    pub fn flops(&self, convention: Convention) -> f64 {
        self.flops[convention_index(convention)]
    }
}

fn convention_index(c: Convention) -> usize {
    match c {
        Convention::Exact => 0,
        Convention::Kaplan => 1,
        Convention::Paper => 2,
    }
}

/// Mean and sample standard deviation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub mean: f64,
    /// `None` for a single value.
    pub sd: Option<f64>,
    pub n: usize,
}

impl Stats {
    /// `None` for no values.
    pub fn of(values: &[f64]) -> Option<Stats> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = (n > 1).then(|| {
            let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
            (ss / (n - 1) as f64).sqrt()
        });
        Some(Stats { mean, sd, n })
    }
}

/// Every run folder (a folder with `results.jsonl`) under `roots`, with the published numbers
/// of any experiment files found at the roots.
pub fn collect(roots: &[PathBuf]) -> Result<(Vec<Run>, BTreeMap<String, f64>), ReportError> {
    let mut dirs = BTreeSet::new();
    let mut published = BTreeMap::new();
    for root in roots {
        find_runs(root, &mut dirs)?;
        let experiment = root.join(EXPERIMENT_FILE);
        if experiment.is_file() {
            published.extend(Experiment::read(&experiment)?.published);
        }
    }
    let mut runs = Vec::new();
    let mut overrides = Vec::new();
    for dir in dirs {
        let records = RunRecord::read_all(&dir.join(train::RESULTS_FILE))?;
        let Some(record) = records.into_iter().last() else { continue };
        if record.status == Status::Interrupted {
            continue;
        }
        let config = crate::api::read_config(&dir.join(train::CONFIG_FILE))?;
        let curve_path = dir.join(train::CURVE_FILE);
        let curve =
            if curve_path.is_file() { train::read_jsonl(&curve_path, "a loss-curve point")? } else { Vec::new() };
        overrides.push(config.overrides);
        runs.push(Run { dir, label: record.model.clone(), record, curve });
    }
    label_runs(&mut runs, &overrides);
    Ok((runs, published))
}

fn find_runs(dir: &Path, found: &mut BTreeSet<PathBuf>) -> Result<(), ReportError> {
    if dir.join(train::RESULTS_FILE).is_file() {
        found.insert(dir.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| ReportError::Read { path: dir.to_path_buf(), source: e })?;
    for entry in entries {
        let path = entry.map_err(|e| ReportError::Read { path: dir.to_path_buf(), source: e })?.path();
        if path.is_dir() {
            find_runs(&path, found)?;
        }
    }
    Ok(())
}

/// Labels each run with its model name and the overrides that vary among runs of that model
/// (`mlp hidden=256`); overrides every such run shares say nothing and are left out.
fn label_runs(runs: &mut [Run], overrides: &[Vec<String>]) {
    let mut by_model: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        by_model.entry(run.record.model.clone()).or_default().push(i);
    }
    for indices in by_model.values() {
        let shared: BTreeSet<&String> =
            overrides[indices[0]].iter().filter(|o| indices.iter().all(|&i| overrides[i].contains(o))).collect();
        for &i in indices {
            let mut varying: Vec<&String> = overrides[i].iter().filter(|o| !shared.contains(o)).collect();
            varying.sort();
            let label = std::iter::once(&runs[i].record.model).chain(varying).cloned().collect::<Vec<_>>().join(" ");
            runs[i].label = label;
        }
    }
}

/// Groups runs by corpus and objective, and within a group averages the seeds of each model
/// variant and budget. Rows are ordered by first appearance of their label, then budget.
pub fn group(runs: Vec<Run>, published: &BTreeMap<String, f64>) -> Vec<Group> {
    type GroupKey = (String, String, String, String);
    let mut groups: Vec<(GroupKey, Vec<Run>)> = Vec::new();
    for run in runs {
        let r = &run.record;
        let key = (r.corpus.clone(), r.split_set.clone(), r.tokenizer.clone(), r.objective.clone());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(run),
            None => groups.push((key, vec![run])),
        }
    }
    groups
        .into_iter()
        .map(|((corpus, split_set, tokenizer, objective), members)| {
            let labels: Vec<String> = members.iter().fold(Vec::new(), |mut seen, r| {
                if !seen.contains(&r.label) {
                    seen.push(r.label.clone());
                }
                seen
            });
            let mut rows: Vec<Row> = Vec::new();
            for run in members {
                let r = &run.record;
                match rows.iter_mut().find(|row| {
                    row.label == run.label
                        && row.convention == r.convention
                        && row.budget == r.budget
                        && row.stop == r.stop
                }) {
                    Some(row) => row.runs.push(run),
                    None => rows.push(Row {
                        label: run.label.clone(),
                        convention: r.convention,
                        budget: r.budget,
                        stop: r.stop,
                        params: r.params,
                        flops: [0.0; 3],
                        steps: 0.0,
                        test_nll: Stats { mean: f64::NAN, sd: None, n: 0 },
                        diverged: 0,
                        published: published
                            .get(&format!("{corpus}/{}", run.label))
                            .or_else(|| published.get(&run.label))
                            .copied(),
                        runs: vec![run],
                    }),
                }
            }
            for row in &mut rows {
                summarise(row);
            }
            rows.sort_by(|a, b| {
                let rank = |l: &String| labels.iter().position(|x| x == l);
                rank(&a.label)
                    .cmp(&rank(&b.label))
                    .then(a.budget.unwrap_or(f64::INFINITY).total_cmp(&b.budget.unwrap_or(f64::INFINITY)))
            });
            Group { corpus, split_set, tokenizer, objective, rows }
        })
        .collect()
}

impl Row {
    /// What limited the runs: `1e12 exact`, `e3`, `1e12 exact, steps500`.
    pub fn limits(&self) -> String {
        let budget = self.budget.map(|b| format!("{} {}", sci(b), self.convention));
        let stop = Some(self.stop.label().replace('-', ", ")).filter(|s| !s.is_empty());
        budget.into_iter().chain(stop).collect::<Vec<_>>().join(", ")
    }
}

fn summarise(row: &mut Row) {
    let n = row.runs.len() as f64;
    for c in [Convention::Exact, Convention::Kaplan, Convention::Paper] {
        row.flops[convention_index(c)] = row.runs.iter().map(|r| r.record.flops_used.get(c) as f64).sum::<f64>() / n;
    }
    row.steps = row.runs.iter().map(|r| r.record.steps as f64).sum::<f64>() / n;
    let nlls: Vec<f64> = row.runs.iter().filter_map(|r| r.record.test_nll).filter(|x| x.is_finite()).collect();
    row.diverged = row.runs.iter().filter(|r| r.record.status == Status::Diverged).count();
    if let Some(stats) = Stats::of(&nlls) {
        row.test_nll = stats;
    }
}

/// Files a report wrote.
#[derive(Debug, Default)]
pub struct Written {
    pub table: PathBuf,
    pub plots: Vec<PathBuf>,
}

/// Reads the runs under `roots` and writes `report.md` and the plots into `out`.
pub fn write(roots: &[PathBuf], out: &Path) -> Result<(Written, String), ReportError> {
    let (runs, published) = collect(roots)?;
    if runs.is_empty() {
        let names: Vec<String> = roots.iter().map(|r| format!("`{}`", r.display())).collect();
        return Err(ReportError::Empty(names.join(", ")));
    }
    let groups = group(runs, &published);
    std::fs::create_dir_all(out).map_err(|e| ReportError::Write { path: out.to_path_buf(), message: e.to_string() })?;
    let mut written = Written { table: out.join("report.md"), plots: Vec::new() };
    let mut text = markdown(&groups);
    for g in &groups {
        let plots = plot_group(g, out)?;
        text.push_str(&format!("\n### Plots: {} ({}), objective `{}`\n\n", g.corpus, g.tokenizer, g.objective));
        for p in plots.iter().filter(|p| p.extension().is_some_and(|e| e == "svg")) {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            text.push_str(&format!("![{name}]({name})\n\n"));
        }
        written.plots.extend(plots);
    }
    train::write_atomic(&written.table, text.as_bytes())?;
    Ok((written, text))
}
