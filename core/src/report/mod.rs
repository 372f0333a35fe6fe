//! Reports over run folders: Markdown tables and plots (SVG and PNG).
//!
//! ```text
//! mod     finding runs, labelling them, averaging seeds
//! table   the study's table layout in Markdown
//! summary what a book chapter includes: NLL by budget, each budget's leader, the tally
//! plot    test NLL against FLOPs (with the Pareto front) and parameters, loss curves
//! ```

mod plot;
mod summary;
mod table;

pub use plot::plot_group;
pub use summary::REPRODUCED_WITHIN;
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
    /// The rows' labels, each once, in the order of the rows.
    pub fn labels(&self) -> Vec<&str> {
        let mut labels: Vec<&str> = Vec::new();
        for r in &self.rows {
            if !labels.contains(&r.label.as_str()) {
                labels.push(&r.label);
            }
        }
        labels
    }

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
    pub flops: [f64; 4],
    pub steps: f64,
    /// Mean wall time of a run, seconds (training and evaluation).
    pub wall_seconds: f64,
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

    /// The `published | difference |` cells of a table row.
    pub fn published_cells(&self) -> String {
        match self.published {
            Some(p) if self.test_nll.n > 0 => format!(" {p} | {:+.3} |", self.test_nll.mean - p),
            Some(p) => format!(" {p} | - |"),
            None => " - | - |".into(),
        }
    }
}

fn convention_index(c: Convention) -> usize {
    match c {
        Convention::Exact => 0,
        Convention::Dense => 1,
        Convention::Kaplan => 2,
        Convention::Paper => 3,
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
    /// `2.016 ± 0.012`, `2.016` for one value, `-` for none.
    pub fn text(&self) -> String {
        match (self.n, self.sd) {
            (0, _) => "-".into(),
            (_, Some(sd)) => format!("{:.3} ± {:.3}", self.mean, sd),
            (_, None) => format!("{:.3}", self.mean),
        }
    }

    /// The standard error of `other.mean - self.mean` (Welch's), where both have a spread.
    pub fn standard_error(&self, other: &Stats) -> Option<f64> {
        let (a, b) = (self.sd?, other.sd?);
        let se = (a * a / self.n as f64 + b * b / other.n as f64).sqrt();
        (se > 0.0).then_some(se)
    }

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

/// What the roots hold: the finished runs, the published numbers of any experiment files at
/// the roots, and the run folders left out of the tables, with why.
#[derive(Debug, Default)]
pub struct Collected {
    pub runs: Vec<Run>,
    pub published: BTreeMap<String, f64>,
    /// Run folders without a finished record yet (training, interrupted or killed).
    pub unfinished: Vec<PathBuf>,
    /// Run folders whose files cannot be read, with the error.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Every run folder (a folder with `run.ron` or `results.jsonl`) under `roots`. Each real
/// folder is visited once, however many links lead to it.
pub fn collect(roots: &[PathBuf]) -> Result<Collected, ReportError> {
    let mut dirs = BTreeSet::new();
    let mut visited = BTreeSet::new();
    let mut found = Collected::default();
    for root in roots {
        find_runs(root, &mut dirs, &mut visited)?;
        let experiment = root.join(EXPERIMENT_FILE);
        if experiment.is_file() {
            found.published.extend(Experiment::read(&experiment)?.published);
        }
    }
    let mut configs = Vec::new();
    for dir in dirs {
        match read_run(&dir) {
            Ok(Some((run, config))) => {
                configs.push(config);
                found.runs.push(run);
            }
            Ok(None) => found.unfinished.push(dir),
            Err(e) => found.unreadable.push((dir, e.to_string())),
        }
    }
    label_runs(&mut found.runs, &configs);
    Ok(found)
}

/// A finished run with its settings; `None` for a run still going or stopped early.
fn read_run(dir: &Path) -> Result<Option<(Run, train::RunConfig)>, ReportError> {
    let results = dir.join(train::RESULTS_FILE);
    if !results.is_file() {
        return Ok(None);
    }
    let records = RunRecord::read_all(&results)?;
    let Some(record) = records.into_iter().last().filter(|r| r.status != Status::Interrupted) else {
        return Ok(None);
    };
    let config = crate::api::read_config(&dir.join(train::CONFIG_FILE))?;
    let curve_path = dir.join(train::CURVE_FILE);
    let curve = if curve_path.is_file() { train::read_jsonl(&curve_path, "a loss-curve point")? } else { Vec::new() };
    Ok(Some((Run { dir: dir.to_path_buf(), label: record.model.clone(), record, curve }, config)))
}

fn find_runs(dir: &Path, found: &mut BTreeSet<PathBuf>, visited: &mut BTreeSet<PathBuf>) -> Result<(), ReportError> {
    // The real path: a link back up the tree, or two links to one folder, cannot count twice.
    let real = dir.canonicalize().map_err(|e| ReportError::Read { path: dir.to_path_buf(), source: e })?;
    if !visited.insert(real) {
        return Ok(());
    }
    if dir.join(train::RESULTS_FILE).is_file() || dir.join(train::CONFIG_FILE).is_file() {
        found.insert(dir.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| ReportError::Read { path: dir.to_path_buf(), source: e })?;
    let mut paths = Vec::new();
    for entry in entries {
        paths.push(entry.map_err(|e| ReportError::Read { path: dir.to_path_buf(), source: e })?.path());
    }
    paths.sort();
    for path in paths {
        if path.is_dir() {
            find_runs(&path, found, visited)?;
        }
    }
    Ok(())
}

/// Labels each run with its model name, the overrides and the settings that vary among runs of
/// that model (`mlp hidden=256`, `tiny optimizer.lr=0.01`): runs that differ in anything but
/// their seed and their limits are never averaged as seeds of one row. What every such run
/// shares says nothing and is left out.
fn label_runs(runs: &mut [Run], configs: &[train::RunConfig]) {
    // Runs of one model in one table: same corpus, tokenization and objective.
    let mut by_model: BTreeMap<[String; 5], Vec<usize>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        let r = &run.record;
        let key = [&r.corpus, &r.split_set, &r.tokenizer, &r.objective, &r.model].map(|s| s.clone());
        by_model.entry(key).or_default().push(i);
    }
    for indices in by_model.values() {
        let traits: Vec<Vec<String>> = indices.iter().map(|&i| run_traits(&configs[i])).collect();
        let shared: BTreeSet<&String> = traits[0].iter().filter(|t| traits.iter().all(|ts| ts.contains(t))).collect();
        for (k, &i) in indices.iter().enumerate() {
            let mut varying: Vec<&String> = traits[k].iter().filter(|t| !shared.contains(t)).collect();
            varying.sort();
            let label = std::iter::once(&runs[i].record.model).chain(varying).cloned().collect::<Vec<_>>().join(" ");
            runs[i].label = label;
        }
    }
}

/// What sets a run apart besides its model, seed and limits: its overrides (`hidden=256`) and
/// every setting as `path=value` (`optimizer.lr=0.01`). The corpus, tokenization and objective
/// make the groups; the budget and stopping rules make the rows.
fn run_traits(config: &train::RunConfig) -> Vec<String> {
    const ELSEWHERE: [&str; 11] = [
        "overrides",
        "seed",
        "corpus",
        "split_set",
        "tokenizer",
        "objective",
        "budget",
        "convention",
        "stop",
        "context",
        "average",
    ];
    fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    flatten(&path, v, out);
                }
            }
            other => out.push(format!("{prefix}={other}")),
        }
    }
    let mut traits = config.overrides.clone();
    if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(config) {
        for (k, v) in map.iter().filter(|(k, _)| !ELSEWHERE.contains(&k.as_str())) {
            flatten(k, v, &mut traits);
        }
    }
    traits
}

/// The run folders the tables leave out, and why: a sweep in progress shows its open cells.
fn left_out(unfinished: &[PathBuf], unreadable: &[(PathBuf, String)]) -> String {
    let mut out = String::new();
    if !unfinished.is_empty() {
        out.push_str(&format!("Unfinished, not in the tables ({}):\n\n", unfinished.len()));
        for dir in unfinished {
            out.push_str(&format!("- `{}`\n", dir.display()));
        }
        out.push('\n');
    }
    if !unreadable.is_empty() {
        out.push_str(&format!("Unreadable, not in the tables ({}):\n\n", unreadable.len()));
        for (dir, error) in unreadable {
            out.push_str(&format!("- `{}`: {}\n", dir.display(), error.lines().next().unwrap_or_default()));
        }
        out.push('\n');
    }
    out
}

/// Where each row's numbers come from: every run's record, relative to the report.
fn cited(groups: &[Group], out: &Path) -> String {
    let mut text = String::from(
        "## Records

Each row's runs, by seed: their results, settings and curves.

",
    );
    for g in groups {
        for row in &g.rows {
            let links: Vec<String> = row
                .runs
                .iter()
                .map(|run| {
                    let dir = run.dir.strip_prefix(out).unwrap_or(&run.dir);
                    let path = dir.join(train::RESULTS_FILE).to_string_lossy().replace('\\', "/");
                    format!("[s{}]({path})", run.record.seed)
                })
                .collect();
            text.push_str(&format!("- {}, `{}`, {}: {}\n", g.stem(), row.label, row.limits(), links.join(", ")));
        }
    }
    text.push('\n');
    text
}

/// Groups runs by corpus and objective, and within a group averages the seeds of each model
/// variant and budget. Rows are ordered by label, numbers by value (`context=32` before
/// `context=128`), then by budget.
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
            let mut labels: Vec<String> = members.iter().map(|r| r.label.clone()).collect();
            labels.sort_by_key(|l| natural(l));
            labels.dedup();
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
                        flops: [0.0; 4],
                        steps: 0.0,
                        wall_seconds: 0.0,
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

/// A label's sort key: its runs of digits compared as numbers, the rest as text.
fn natural(label: &str) -> Vec<(String, u128)> {
    let mut key = Vec::new();
    let mut chars = label.chars().peekable();
    while chars.peek().is_some() {
        let text: String = std::iter::from_fn(|| chars.next_if(|c| !c.is_ascii_digit())).collect();
        let digits: String = std::iter::from_fn(|| chars.next_if(char::is_ascii_digit)).collect();
        let value = if digits.is_empty() { 0 } else { digits.parse().unwrap_or(u128::MAX) };
        key.push((text, value));
    }
    key
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
    for c in Convention::ALL {
        row.flops[convention_index(c)] = row.runs.iter().map(|r| r.record.flops_used.get(c) as f64).sum::<f64>() / n;
    }
    row.steps = row.runs.iter().map(|r| r.record.steps as f64).sum::<f64>() / n;
    row.wall_seconds = row.runs.iter().map(|r| r.record.wall_seconds).sum::<f64>() / n;
    let nlls: Vec<f64> = row.runs.iter().filter_map(|r| r.record.test_nll).filter(|x| x.is_finite()).collect();
    row.diverged = row.runs.iter().filter(|r| r.record.status == Status::Diverged).count();
    if let Some(stats) = Stats::of(&nlls) {
        row.test_nll = stats;
    }
}

/// Files a report wrote.
#[derive(Debug, Default)]
pub struct Written {
    /// `report.md`; `summary.md` is beside it.
    pub table: PathBuf,
    pub plots: Vec<PathBuf>,
}

/// The folder, inside a report's, that holds the records it was computed from.
pub const RECORDS_DIR: &str = "records";

/// Copies what every finished run under `roots` was and gave (its settings, model text, results
/// and loss curve; not its weights) into `out/records`, each under its path below its root,
/// with the experiment file: a report computed from that copy can be committed with it, and
/// computed again from it. Returns the copy's folder.
pub fn keep_records(roots: &[PathBuf], out: &Path) -> Result<PathBuf, ReportError> {
    let records = out.join(RECORDS_DIR);
    let write_error =
        |path: &Path, e: std::io::Error| ReportError::Write { path: path.to_path_buf(), message: e.to_string() };
    let found = collect(roots)?;
    // The copy replaces the last one, so it holds these runs and no others; it can neither be
    // an input nor sit inside one (a second report would count its runs twice).
    std::fs::create_dir_all(out).map_err(|e| write_error(out, e))?;
    let records_real = out.canonicalize().map_err(|e| write_error(out, e))?.join(RECORDS_DIR);
    let overlaps = |root: &PathBuf| {
        root.canonicalize().is_ok_and(|root| root.starts_with(&records_real) || records_real.starts_with(&root))
    };
    if let Some(root) = roots.iter().find(|r| overlaps(r)) {
        return Err(ReportError::Write {
            path: root.clone(),
            message: format!(
                "`{}` and the kept records (`{}`) overlap: give `--out` a folder outside the runs, or report from \
                 the records without `--keep-records`",
                root.display(),
                records.display()
            ),
        });
    }
    if records.exists() {
        std::fs::remove_dir_all(&records).map_err(|e| write_error(&records, e))?;
    }
    for root in roots {
        let experiment = root.join(EXPERIMENT_FILE);
        if experiment.is_file() {
            std::fs::create_dir_all(&records).map_err(|e| write_error(&records, e))?;
            std::fs::copy(&experiment, records.join(EXPERIMENT_FILE)).map_err(|e| write_error(&records, e))?;
        }
    }
    for run in &found.runs {
        let relative = roots.iter().find_map(|r| run.dir.strip_prefix(r).ok()).unwrap_or(&run.dir);
        if relative.is_absolute() || relative.as_os_str().is_empty() {
            return Err(ReportError::Write {
                path: run.dir.clone(),
                message: "a run folder given by itself cannot be kept: give the folder above it".into(),
            });
        }
        let dest = records.join(relative);
        std::fs::create_dir_all(&dest).map_err(|e| write_error(&dest, e))?;
        let entries =
            std::fs::read_dir(&run.dir).map_err(|e| ReportError::Read { path: run.dir.clone(), source: e })?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let keep = [train::CONFIG_FILE, train::RESULTS_FILE, train::CURVE_FILE].iter().any(|f| name == *f)
                || Path::new(&name).extension().is_some_and(|e| e == "model");
            if keep && entry.path().is_file() {
                std::fs::copy(entry.path(), dest.join(&name)).map_err(|e| write_error(&dest, e))?;
            }
        }
    }
    Ok(records)
}

/// Reads the runs under `roots` and writes `report.md` and the plots into `out`.
pub fn write(roots: &[PathBuf], out: &Path) -> Result<(Written, String), ReportError> {
    let found = collect(roots)?;
    if found.runs.is_empty() {
        let names: Vec<String> = roots.iter().map(|r| format!("`{}`", r.display())).collect();
        return Err(ReportError::Empty(names.join(", ")));
    }
    let groups = group(found.runs, &found.published);
    std::fs::create_dir_all(out).map_err(|e| ReportError::Write { path: out.to_path_buf(), message: e.to_string() })?;
    let mut written = Written { table: out.join("report.md"), plots: Vec::new() };
    let mut text = markdown(&groups);
    text.push_str(&left_out(&found.unfinished, &found.unreadable));
    for g in &groups {
        let plots = plot_group(g, out)?;
        text.push_str(&format!("\n### Plots: {} ({}), objective `{}`\n\n", g.corpus, g.tokenizer, g.objective));
        for p in plots.iter().filter(|p| p.extension().is_some_and(|e| e == "svg")) {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            text.push_str(&format!("![{name}]({name})\n\n"));
        }
        written.plots.extend(plots);
    }
    text.push_str(&cited(&groups, out));
    train::write_atomic(&written.table, text.as_bytes())?;
    train::write_atomic(&out.join("summary.md"), summary::markdown(&groups).as_bytes())?;
    Ok((written, text))
}

#[cfg(test)]
mod tests {
    use super::natural;

    #[test]
    fn labels_sort_by_the_values_they_vary() {
        let mut labels = ["linear context=128", "linear context=32", "linear", "mlp hidden=512", "linear context=64"];
        labels.sort_by_key(|l| natural(l));
        assert_eq!(
            labels,
            ["linear", "linear context=32", "linear context=64", "linear context=128", "mlp hidden=512"]
        );
    }
}
