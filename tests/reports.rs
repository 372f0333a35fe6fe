//! Every committed report is exactly what `tinyarch report` computes from the records committed
//! beside it (`book/src/reports/*/records`): its tables, its citations and its plots. A record
//! or a report edited by hand no longer matches.

mod common;

use std::path::{Path, PathBuf};

use common::TempDir;
use tinyarch::report::{RECORDS_DIR, write};

fn reports() -> Vec<PathBuf> {
    let root = common::repo_dir().join("book/src/reports");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    dirs.into_iter().filter(|d| d.join(RECORDS_DIR).is_dir()).collect()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() { copy_tree(&path, &dest) } else { std::fs::copy(&path, &dest).map(|_| ()).unwrap() }
    }
}

/// The files of a report that a regeneration must reproduce: the Markdown and the SVG plots.
fn outputs(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md" || e == "svg"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    files.sort();
    files
}

/// Regenerates `report` from a copy of its records in a scratch folder.
fn regenerate(report: &Path, scratch: &Path, edit: impl Fn(&Path)) -> Vec<(String, String)> {
    let records = scratch.join(RECORDS_DIR);
    copy_tree(&report.join(RECORDS_DIR), &records);
    edit(&records);
    write(&[records], scratch).unwrap_or_else(|e| panic!("{}: {e}", report.display()));
    outputs(scratch)
}

#[test]
fn every_committed_report_is_computed_from_its_records() {
    let reports = reports();
    assert!(!reports.is_empty(), "no report has committed records");
    for report in &reports {
        let name = report.file_name().unwrap().to_string_lossy().into_owned();
        let scratch = TempDir::new(&format!("report-{name}"));
        let expected = outputs(report);
        let got = regenerate(report, &scratch.0, |_| {});
        let names = |files: &[(String, String)]| files.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&got), names(&expected), "{name}: the report's files");
        for ((file, got), (_, expected)) in got.iter().zip(&expected) {
            assert!(got == expected, "{name}/{file} is not what `tinyarch report` computes from its records");
        }
    }
}

#[test]
fn a_pruned_model_is_plotted_against_both_counts() {
    // Self-attention under `last` computes one query: its exact count is a seventh of its dense one.
    let report = common::repo_dir().join("book/src/reports/iso-flop-dense");
    let svg = std::fs::read_to_string(report.join("tiny-shakespeare-last-nll-vs-flops-both.svg")).unwrap();
    assert!(svg.contains("exact count") && svg.contains("dense count"), "both axes are drawn");
    assert!(std::fs::read_to_string(report.join("report.md")).unwrap().contains("nll-vs-flops-both.svg"));
}

#[test]
fn a_record_edited_by_hand_changes_the_report() {
    let report = &reports()[0];
    let committed = std::fs::read_to_string(report.join("report.md")).unwrap();
    let scratch = TempDir::new("report-edited");
    // Move one run's test NLL by 0.01 nats.
    let got = regenerate(report, &scratch.0, |records| {
        let results = first_results(records);
        let text = std::fs::read_to_string(&results).unwrap();
        let mut record: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        let nll = record["test_nll"].as_f64().unwrap();
        record["test_nll"] = serde_json::json!(nll + 0.01);
        std::fs::write(&results, format!("{record}\n")).unwrap();
    });
    let regenerated = &got.iter().find(|(n, _)| n == "report.md").unwrap().1;
    assert_ne!(regenerated, &committed, "an edited record must change the report");
}

fn first_results(dir: &Path) -> PathBuf {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.file_name().is_some_and(|n| n == "results.jsonl") {
            return path;
        }
        if path.is_dir() {
            let found = first_results(&path);
            if found.exists() {
                return found;
            }
        }
    }
    dir.join("none")
}

/// The comparison with the independent PyTorch twin (`book/src/reports/twin/comparison.md`) is
/// what `tools/reference/compare_twin.py` computes from the twin's results and tinyarch's
/// committed records. It needs only Python's standard library.
#[test]
fn the_twin_comparison_is_computed_from_its_inputs() {
    let root = common::repo_dir();
    let script = root.join("tools/reference/compare_twin.py");
    let output = match std::process::Command::new("python3").arg(&script).arg("--check").current_dir(&root).output() {
        Ok(output) => output,
        Err(e) => panic!("this test needs python3 (standard library only): {e}"),
    };
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
