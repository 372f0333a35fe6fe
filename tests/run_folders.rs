//! Run folders that cannot be mixed up, lost or misread, tried as a hostile user would: folders
//! named by everything that determines the result, finished runs kept, killed runs started
//! again cleanly, signals, locks, torn files, link loops, tampered weights and bad settings.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{TempDir, command, ok, tinyarch};
use tinyarch::train::{RunRecord, Status};

const TINY: &str = "model tiny(context = 16, d = 16) {\n    embedding(dim = d)\n    head()\n}\n";

/// A scratch folder with `tiny.model` and a corpus `notes` (characters) in `d`.
fn setup(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    fs::write(dir.0.join("tiny.model"), TINY).unwrap();
    let line = "the quick brown fox jumps over the lazy dog and runs far away\n";
    fs::write(dir.0.join("notes.txt"), line.repeat(300)).unwrap();
    ok(&dir.0, &["corpora", "add", "notes", "--text", "notes.txt", "--data", "d"]);
    dir
}

fn run_json(dir: &Path, extra: &[&str]) -> RunRecord {
    let mut args = vec!["run", "tiny.model", "--corpus", "notes", "--data", "d", "--json"];
    args.extend(extra);
    let stdout = ok(dir, &args);
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

/// The run folders under `runs/notes`, sorted.
fn run_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir.join("runs/notes"))
        .map(|r| r.map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs
}

fn lines(path: &Path) -> usize {
    fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0)
}

#[test]
fn runs_that_differ_in_anything_get_their_own_folders_and_a_finished_one_is_kept() {
    let dir = setup("folders");
    let d = &dir.0;
    let base = run_json(d, &["--max-steps", "5"]);
    run_json(d, &["--max-steps", "5", "--set", "d=8"]);
    run_json(d, &["--max-steps", "5", "--objective", "all"]);
    run_json(d, &["--max-steps", "5", "--lr", "0.01"]);
    assert_eq!(run_dirs(d).len(), 4, "{:?}", run_dirs(d));
    // The same command again finds its run finished: nothing is trained or appended.
    let (code, stdout, stderr) =
        tinyarch(d, &["run", "tiny.model", "--corpus", "notes", "--data", "d", "--json", "--max-steps", "5"]);
    assert_eq!(code, Some(0));
    assert!(stderr.contains("finished earlier"), "{stderr}");
    let again: RunRecord = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(again, base);
    let folder = run_dirs(d).into_iter().find(|p| {
        p.join("results.jsonl").is_file() && {
            let r = RunRecord::read_all(&p.join("results.jsonl")).unwrap();
            r[0] == base
        }
    });
    let folder = folder.expect("the first run's folder");
    assert_eq!(lines(&folder.join("results.jsonl")), 1);
    // `--restart` trains it again, into a clean folder.
    let restarted = run_json(d, &["--max-steps", "5", "--restart"]);
    assert_eq!((restarted.test_nll, restarted.steps), (base.test_nll, base.steps));
    assert_eq!(lines(&folder.join("results.jsonl")), 1);
    // A budget beyond u64 keeps its own name.
    let (code, _, stderr) = tinyarch(
        d,
        &["run", "tiny.model", "--corpus", "notes", "--data", "d", "--budget", "1e40", "--max-steps", "2", "-q"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(run_dirs(d).iter().any(|p| p.to_string_lossy().contains("tiny-1.00e40-exact-steps2-s1-")));
    // The report shows every variant, each once.
    let report = ok(d, &["report", "runs"]);
    assert_eq!(report.lines().filter(|l| l.starts_with("| tiny")).count(), 5, "{report}");
}

#[test]
fn a_killed_run_starts_again_cleanly_and_sigterm_saves_what_is_complete() {
    let dir = setup("signals");
    let d = &dir.0;
    let steps = ["run", "tiny.model", "--corpus", "notes", "--data", "d", "--max-steps", "3000"];
    // SIGKILL in the middle of training: the folder is left unfinished, and the report says so.
    let mut child = command(d, &steps).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let folder = wait_for_curve(d, &mut child, |c| {
        // SAFETY: sends a signal to our own child.
        unsafe { libc::kill(c.id() as i32, libc::SIGKILL) };
    });
    // Reaped, as any parent would: a zombie still counts as the lock's live holder.
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(!folder.join("results.jsonl").exists());
    let (_, report, _) = tinyarch(d, &["report", "runs"]);
    assert!(report.is_empty(), "no finished runs yet: {report}");
    // Started again, it trains from the start into a clean folder; everything in it agrees.
    let finished = run_json(d, &["--max-steps", "3000"]);
    assert_eq!((finished.status, finished.steps), (Status::Completed, 3000));
    assert_eq!((lines(&folder.join("results.jsonl")), lines(&folder.join("curve.jsonl"))), (1, 3000));
    ok(d, &["eval", folder.to_str().unwrap(), "--corpus", "notes", "--data", "d"]);

    // SIGTERM: the step in flight finishes, the record says so, the status is 128 + 15.
    let long = ["run", "tiny.model", "--corpus", "notes", "--data", "d", "--max-steps", "1000000"];
    let child = command(d, &long).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let mut child = Some(child);
    let folder = wait_for_curve(d, child.as_mut().unwrap(), |c| {
        // SAFETY: as above.
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    });
    let out = child.take().unwrap().wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", String::from_utf8_lossy(&out.stderr));
    let [record] = RunRecord::read_all(&folder.join("results.jsonl")).unwrap().try_into().unwrap();
    assert_eq!((record.status, record.message.as_deref()), (Status::Interrupted, Some("stopped by SIGTERM")));
    assert!(record.steps > 0 && lines(&folder.join("curve.jsonl")) as u64 == record.steps);
}

/// Waits until a running child's `curve.jsonl` has lines (training is under way and the curve
/// is written as it goes), then acts on the child. Returns the run folder.
fn wait_for_curve<C: std::borrow::BorrowMut<Child>>(d: &Path, mut child: C, act: impl FnOnce(&mut Child)) -> PathBuf {
    let start = Instant::now();
    loop {
        let found =
            run_dirs(d).into_iter().find(|p| lines(&p.join("curve.jsonl")) >= 3 && !p.join("results.jsonl").exists());
        if let Some(folder) = found {
            act(child.borrow_mut());
            let _ = child.borrow_mut().try_wait();
            return folder;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no curve appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_sweeps_of_one_file_train_each_cell_once() {
    let dir = setup("concurrent");
    let d = &dir.0;
    fs::write(
        d.join("sweep.ron"),
        r#"(
    corpus: "notes",
    models: [(file: "tiny.model", vary: {"d": [8, 16, 24]})],
    budgets: [2e8],
    seeds: [1, 2],
    settings: (batch: 16, train: Study(samples: 64), max_eval_batches: 2),
)"#,
    )
    .unwrap();
    let sweep = ["sweep", "sweep.ron", "--data", "d", "--out", "out", "--json"];
    let a = command(d, &sweep).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let b = command(d, &sweep).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    // Every cell has exactly one record, written by one of the two.
    let cells: Vec<PathBuf> =
        fs::read_dir(d.join("out/notes")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    assert_eq!(cells.len(), 6);
    for cell in &cells {
        assert_eq!(lines(&cell.join("results.jsonl")), 1, "{}", cell.display());
    }
    assert!(
        fs::read_dir(d.join("out/notes")).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".lock"))
    );
    // Rerun: all finished, nothing trained.
    let (_, _, stderr) = tinyarch(d, &sweep);
    assert!(stderr.contains("0 cells trained, 6 already finished"), "{stderr}");

    // An edited model file is not a finished cell any more: the sweep refuses to mix them.
    fs::write(d.join("tiny.model"), TINY.replace("embedding(dim = d)", "embedding(dim = d)\n    dropout(p = 0.1)"))
        .unwrap();
    let (code, _, stderr) = tinyarch(d, &sweep);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("holds a run of another model or other settings"), "{stderr}");
}

#[test]
fn results_that_cannot_be_saved_are_printed_and_torn_files_and_link_loops_are_survived() {
    let dir = setup("damaged");
    let d = &dir.0;
    let good = run_json(d, &["--max-steps", "3"]);
    let [folder] = run_dirs(d).try_into().unwrap();
    run_json(d, &["--max-steps", "4"]);
    // A torn last line (a write that never finished) is left out; the report goes on.
    let results = folder.join("results.jsonl");
    let text = fs::read_to_string(&results).unwrap();
    fs::write(&results, format!("{text}{}", &text[..40])).unwrap();
    let report = ok(d, &["report", "runs"]);
    assert!(report.contains(&format!("{:.3}", good.test_nll.unwrap())), "{report}");
    // A damaged line in the middle is named, and only that run is left out.
    fs::write(&results, format!("{{not json\n{text}")).unwrap();
    let report = ok(d, &["report", "runs"]);
    assert!(
        report.contains("Unreadable, not in the tables (1)") && report.contains("cannot decode a result record"),
        "{report}"
    );
    fs::write(&results, &text).unwrap();

    // A link back up the tree does not count the run twice, nor hang.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(d.join("runs"), d.join("runs/notes/loop")).unwrap();
        std::os::unix::fs::symlink(d.join("runs/notes"), d.join("runs/again")).unwrap();
        let report = ok(d, &["report", "runs"]);
        let rows: Vec<&str> = report.lines().filter(|l| l.starts_with("| tiny")).collect();
        assert_eq!(rows.len(), 2, "{report}");
        let header: Vec<&str> = report.lines().find(|l| l.starts_with("| model")).unwrap().split('|').collect();
        let seeds = header.iter().position(|c| c.trim() == "seeds").unwrap();
        assert!(rows.iter().all(|r| r.split('|').nth(seeds).map(str::trim) == Some("1")), "one seed each: {report}");
    }
}

#[test]
fn eval_and_sample_refuse_tampered_folders() {
    let dir = setup("tampered");
    let d = &dir.0;
    run_json(d, &["--max-steps", "3"]);
    let [folder] = run_dirs(d).try_into().unwrap();
    let folder_arg = folder.to_string_lossy().into_owned();
    let eval = ["eval", folder_arg.as_str(), "--corpus", "notes", "--data", "d"];
    ok(d, &eval);
    // The model text no longer matches the weights' source hash.
    let model = folder.join("model.model");
    let text = fs::read_to_string(&model).unwrap();
    fs::write(&model, text.replace("d = 16", "d = 16 ")).unwrap();
    let (code, _, stderr) = tinyarch(d, &eval);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("not those its weights were trained with"), "{stderr}");
    fs::write(&model, &text).unwrap();
    // Weights that are not numbers.
    let weights = folder.join("model.safetensors");
    let mut bytes = fs::read(&weights).unwrap();
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    fs::write(&weights, bytes).unwrap();
    for args in [&eval[..], &["sample", folder_arg.as_str(), "--data", "d", "--tokens", "5"][..]] {
        let (code, _, stderr) = tinyarch(d, args);
        assert_eq!(code, Some(1), "{args:?}");
        assert!(stderr.contains("holds NaN"), "{stderr}");
    }
}

#[test]
fn settings_that_cannot_train_are_refused_before_training() {
    let dir = setup("settings");
    let d = &dir.0;
    let cases = [
        ("optimizer: (betas: (1.0, 1.0))", "the betas are [1.0, 1.0]"),
        ("optimizer: (eps: 0.0)", "eps is 0"),
        ("optimizer: (clip: Some(0.0))", "the gradient clip is 0"),
        ("optimizer: (weight_decay: -0.1)", "the weight decay is -0.1"),
        ("eval: FirstWindows(0)", "`eval: FirstWindows(n)` is 0"),
        ("train: Study(samples: 0)", "`train: Study(samples)` is 0"),
        ("max_eval_batches: Some(0)", "`max_eval_batches` is 0"),
    ];
    for (setting, message) in cases {
        fs::write(d.join("bad.ron"), format!("RunConfig(corpus: \"notes\", budget: 1e9, context: 16, {setting})"))
            .unwrap();
        let (code, _, stderr) =
            tinyarch(d, &["run", "tiny.model", "--corpus", "notes", "--data", "d", "--config", "bad.ron", "-q"]);
        assert_eq!(code, Some(1), "{setting}");
        assert!(stderr.contains(message), "{setting}: {stderr}");
    }
    assert!(run_dirs(d).is_empty(), "nothing was trained");
}

#[test]
fn a_model_named_by_its_bare_file_name_keeps_its_includes() {
    let dir = setup("bare-name");
    let d = &dir.0;
    fs::write(d.join("blocks.model"), "block body(d) {\n    linear(out = d)\n}\n").unwrap();
    fs::write(d.join("uses.model"), "use \"blocks.model\"\nmodel uses(context = 8, d = 8) {\n    embedding(dim = d)\n    body(d = d)\n    head()\n}\n").unwrap();
    let stdout = ok(d, &["run", "uses.model", "--corpus", "notes", "--data", "d", "--max-steps", "2", "--json"]);
    let record: RunRecord = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(record.status, Status::Completed);
    let folder = run_dirs(d).into_iter().next().unwrap();
    assert!(folder.join("blocks.model").is_file());
    let folder_arg = folder.to_string_lossy().into_owned();
    ok(d, &["eval", &folder_arg, "--corpus", "notes", "--data", "d"]);
}

#[test]
fn a_run_another_process_is_training_is_refused() {
    let dir = setup("locked");
    let d = &dir.0;
    run_json(d, &["--max-steps", "2"]);
    let [folder] = run_dirs(d).try_into().unwrap();
    // A live holder (this test's own process) of the same run's lock.
    let lock = tinyarch::train::lock_path(&folder);
    fs::write(&lock, format!("{}\n", std::process::id())).unwrap();
    let (code, _, stderr) =
        tinyarch(d, &["run", "tiny.model", "--corpus", "notes", "--data", "d", "--max-steps", "2", "--restart"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains(&format!("process {} is training", std::process::id())), "{stderr}");
    assert_eq!(lines(&folder.join("results.jsonl")), 1, "the finished run is untouched");
    fs::remove_file(&lock).unwrap();
    let (code, _, stderr) = tinyarch(d, &["sweep", "x.ron", "--slurm", "2", "--slurm-time", "1:00\n#SBATCH --x"]);
    assert_eq!(code, Some(2), "{stderr}");
}
