//! A tiny experiment end to end: sweep (whole and in shards), skip finished cells, redo a
//! broken one, refuse changed settings, then report tables and plots.

// As in the library: errors are large but only built on the error path.
#![allow(clippy::result_large_err)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{TempDir, data_dir};
use tinyarch::backend::DeviceKind;
use tinyarch::data::Locator;
use tinyarch::experiment::{self, CellOutcome, Experiment, ExperimentError, Shard, SweepSummary};
use tinyarch::train::{self, Observer, RunRecord, Silent};

const BIGRAM: &str = "model bigram(context = 16, d = 16) {\n    embedding(dim = d)\n    head()\n}\n";

fn experiment_text(lr: f64) -> String {
    let linear = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/study/linear.model");
    format!(
        r#"(
    corpus: "tiny-shakespeare",
    split_set: "study",
    models: [
        (file: "bigram.model"),
        (file: "{}", vary: {{"context": [8, 16]}}),
    ],
    budgets: [1e9],
    objectives: [last, all],
    seeds: [1, 2],
    settings: (
        batch: 32,
        optimizer: (lr: {lr}),
        train: Study(samples: 256),
        eval_interval: 3,
        max_eval_batches: 4,
    ),
    published: {{"bigram": 3.3}},
)"#,
        linear.display()
    )
}

struct Setup {
    dir: TempDir,
    text: String,
    experiment: Experiment,
}

fn setup(name: &str) -> Setup {
    let dir = TempDir::new(name);
    fs::write(dir.0.join("bigram.model"), BIGRAM).unwrap();
    let text = experiment_text(0.002);
    let experiment = Experiment::parse(&text, "tiny.ron").unwrap();
    Setup { dir, text, experiment }
}

fn sweep(s: &Setup, text: &str, shard: Shard, out: &Path) -> Result<SweepSummary, ExperimentError> {
    let experiment = Experiment::parse(text, "tiny.ron").unwrap();
    let locator = Locator::from_env(Some(&data_dir()));
    let mut silent = |_: &experiment::Cell, _, _| Box::new(Silent) as Box<dyn Observer>;
    experiment::sweep(&experiment, text, &s.dir.0, &locator, shard, out, DeviceKind::Cpu, &mut silent)
}

/// `(cell folder, record)` of every finished run under `out`.
fn records(out: &Path) -> Vec<(String, RunRecord)> {
    let mut found = Vec::new();
    let corpus = out.join("tiny-shakespeare");
    for entry in fs::read_dir(&corpus).unwrap() {
        let dir = entry.unwrap().path();
        let results = dir.join(train::RESULTS_FILE);
        if results.is_file() {
            let record = RunRecord::read_all(&results).unwrap().pop().unwrap();
            found.push((dir.file_name().unwrap().to_string_lossy().into_owned(), record));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn count(summary: &SweepSummary, want: fn(&CellOutcome) -> bool) -> usize {
    summary.cells.iter().filter(|(_, o)| want(o)).count()
}

#[test]
fn sweep_shards_resume_and_report() {
    let s = setup("experiment");
    let whole = s.dir.0.join("whole");
    let sharded = s.dir.0.join("sharded");

    // bigram: 2 objectives x 2 seeds; linear: 2 contexts x 2 seeds under `last`, `all` skipped.
    let cells = experiment::expand(&s.experiment, &s.dir.0).unwrap();
    assert_eq!(cells.len(), 12);
    let summary = sweep(&s, &s.text, Shard::ALL, &whole).unwrap();
    assert_eq!(count(&summary, |o| matches!(o, CellOutcome::Ran(_))), 8);
    assert_eq!(count(&summary, |o| matches!(o, CellOutcome::Skipped(_))), 4);
    let all = records(&whole);
    assert_eq!(all.len(), 8);
    for (name, r) in &all {
        assert_eq!(r.status, train::Status::Completed, "{name}");
        assert!(r.test_nll.unwrap() < 65f64.ln(), "{name} learned nothing: {r:?}");
        assert!(r.flops_used.exact <= 1_000_000_000, "{name} overspent");
    }
    assert!(all.iter().any(|(n, _)| n == "linear_context=8-last-1e9-exact-s2"));
    assert!(all.iter().any(|(n, _)| n == "bigram-all-1e9-exact-s1"));

    // The shards together are the whole sweep, to the bit.
    for index in 0..3 {
        sweep(&s, &s.text, Shard { index, count: 3 }, &sharded).unwrap();
    }
    let union = records(&sharded);
    assert_eq!(union.len(), all.len());
    for ((a, ra), (b, rb)) in all.iter().zip(&union) {
        assert_eq!(a, b);
        assert_eq!(ra.test_nll, rb.test_nll, "{a}");
        assert_eq!(ra.flops_used, rb.flops_used, "{a}");
    }

    // A second sweep reuses every finished cell; a cell without its record is redone.
    let broken = whole.join("tiny-shakespeare/bigram-last-1e9-exact-s2");
    fs::remove_file(broken.join(train::RESULTS_FILE)).unwrap();
    let again = sweep(&s, &s.text, Shard::ALL, &whole).unwrap();
    assert_eq!(count(&again, |o| matches!(o, CellOutcome::Finished(_))), 7);
    assert_eq!(count(&again, |o| matches!(o, CellOutcome::Ran(_))), 1);
    let outcome = |r: &[(String, RunRecord)]| -> Vec<_> {
        r.iter().map(|(n, r)| (n.clone(), r.test_nll, r.valid_nll, r.steps, r.flops_used)).collect()
    };
    assert_eq!(outcome(&records(&whole)), outcome(&all));

    // Changed settings never mix with finished runs.
    let err = sweep(&s, &experiment_text(0.003), Shard::ALL, &whole).unwrap_err();
    assert!(matches!(err, ExperimentError::Changed { .. }), "{err}");

    // The report: one table row per variant, mean ± sd over the two seeds, both plots in both formats.
    let report_dir = s.dir.0.join("report");
    let (written, text) = tinyarch::report::write(std::slice::from_ref(&whole), &report_dir).unwrap();
    assert!(text.contains("## tiny-shakespeare (study split, chars), objective `last`"), "{text}");
    assert!(text.contains("## tiny-shakespeare (study split, chars), objective `all`"), "{text}");
    for label in ["| bigram | 1e9 exact |", "| linear context=8 | 1e9 exact |", "| linear context=16 | 1e9 exact |"] {
        assert!(text.contains(label), "no row `{label}` in\n{text}");
    }
    // The summary sets the linear model's two contexts against each other over the two seeds.
    let summary = fs::read_to_string(report_dir.join("summary.md")).unwrap();
    assert!(summary.contains("| linear | context 8 → 16 | "), "{summary}");
    assert!(
        !summary.lines().any(|l| l.starts_with("| bigram |") && l.contains('→')),
        "the bigram varies nothing:\n{summary}"
    );
    assert!(text.contains(" ± "), "{text}");
    assert!(text.contains("| 3.3 |"), "the published value is missing:\n{text}");
    assert_eq!(fs::read_to_string(&written.table).unwrap(), text);
    let plots: Vec<PathBuf> = written.plots.clone();
    for stem in
        ["tiny-shakespeare-last-nll-vs-flops", "tiny-shakespeare-last-nll-vs-params", "tiny-shakespeare-last-curves"]
    {
        let svg = fs::read_to_string(report_dir.join(format!("{stem}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{stem}.svg");
        assert!(svg.contains("linear context=8") && svg.contains("Test NLL") || stem.ends_with("curves"), "{stem}");
        let png = fs::read(report_dir.join(format!("{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}.png");
        // IHDR: width and height, big-endian.
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 960);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 640);
    }
    // Under `last` the bigram's head computes one position of the window's 16 (exact < dense), so
    // that group also sets the two counts side by side; under `all` they are equal.
    assert_eq!(plots.len(), 14, "3 plots x 2 formats x 2 objectives, and the pair under `last`: {plots:?}");
    let both: Vec<_> = plots.iter().filter(|p| p.to_string_lossy().contains("-both.")).collect();
    assert!(both.len() == 2 && both.iter().all(|p| p.to_string_lossy().contains("-last-")), "{both:?}");

    // Kept records: each run's settings, model text, results and curve, no weights; the report
    // made from them cites them and equals the one made from the runs.
    let kept_dir = s.dir.0.join("kept");
    let records = tinyarch::report::keep_records(std::slice::from_ref(&whole), &kept_dir).unwrap();
    let kept = records.join("tiny-shakespeare/bigram-last-1e9-exact-s1");
    let mut files: Vec<String> =
        fs::read_dir(&kept).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(files, ["curve.jsonl", "model.model", "results.jsonl", "run.ron"]);
    assert!(records.join(experiment::EXPERIMENT_FILE).is_file());
    let (_, from_records) = tinyarch::report::write(std::slice::from_ref(&records), &kept_dir).unwrap();
    assert!(
        from_records.contains("[s1](records/tiny-shakespeare/bigram-last-1e9-exact-s1/results.jsonl)"),
        "{from_records}"
    );
    let tables = |t: &str| t.split("### Plots").next().unwrap().to_string();
    assert_eq!(tables(&from_records), tables(&text));
    // Records kept inside the runs they copy would be read as runs next time: refused.
    let err = tinyarch::report::keep_records(std::slice::from_ref(&whole), &whole).unwrap_err();
    assert!(err.to_string().contains("overlap"), "{err}");
}

#[test]
fn a_broken_model_stops_the_sweep_before_training() {
    let s = setup("experiment-broken");
    fs::write(s.dir.0.join("bigram.model"), "model bigram(context = 16) {\n    embeding(dim = 16)\n    head()\n}\n")
        .unwrap();
    let out = s.dir.0.join("out");
    let err = sweep(&s, &s.text, Shard::ALL, &out).unwrap_err();
    let ExperimentError::Cell { source, .. } = &err else { panic!("{err}") };
    let tinyarch::api::Error::Model(d) = source.as_ref() else { panic!("{err}") };
    assert!(d.render().contains("embeding"), "{}", d.render());
    assert!(!out.join("tiny-shakespeare").exists(), "nothing should have trained");
}

#[test]
fn a_budget_too_small_for_one_step_is_refused_up_front() {
    let s = setup("experiment-small");
    let text = s.text.replace("budgets: [1e9]", "budgets: [1e3]");
    let out = s.dir.0.join("out");
    let err = sweep(&s, &text, Shard::ALL, &out).unwrap_err().to_string();
    assert!(err.contains("bigram-last-1e3-exact-s1"), "{err}");
    assert!(!out.join("tiny-shakespeare").exists());
}

#[test]
fn every_experiment_file_in_the_repository_parses_and_expands() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut seen = Vec::new();
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ron") {
            let experiment = Experiment::read(&path).unwrap_or_else(|e| panic!("{e}"));
            let cells = experiment::expand(&experiment, &dir).unwrap();
            assert!(cells.iter().all(|c| c.file.is_file()), "{}: a model file is missing", path.display());
            seen.push(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    seen.sort();
    assert_eq!(seen, ["iso-flop", "iso-flop-dense", "study-main", "study-rope", "study-sweeps", "study-word"]);
}

/// A model trained for whole epochs (the study's protocol) gets its budget from them.
#[test]
fn epoch_length_cells_train_for_their_epochs() {
    let s = setup("experiment-epochs");
    let text = s.text.replace("(file: \"bigram.model\"),", "(file: \"bigram.model\", epochs: 2),");
    let out = s.dir.0.join("out");
    let summary = sweep(&s, &text, Shard { index: 0, count: 8 }, &out).unwrap();
    assert!(count(&summary, |o| matches!(o, CellOutcome::Ran(_))) > 0);
    let (name, record) = records(&out).into_iter().find(|(n, _)| n.starts_with("bigram-last-2ep")).unwrap();
    // 256 windows an epoch in batches of 32: 8 steps an epoch.
    assert_eq!(record.steps, 16, "{name}");
    assert_eq!(record.stopped_by, Some(train::StopRule::Budget), "{name}");
}
