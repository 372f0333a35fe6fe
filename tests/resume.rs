//! Exact resume: a run stopped at any step and started again ends bit-identical to one that
//! never stopped (the same NLLs, the same weights file, the same curve), whether it was stopped
//! by a request between steps, by SIGTERM, or killed with SIGKILL, and whatever a killed write
//! left behind.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{TempDir, command, ok, tinyarch};
use tinyarch::api::{self, ModelSpec};
use tinyarch::backend::DeviceKind;
use tinyarch::data::{self, Locator};
use tinyarch::train::{
    self, EvalProtocol, Observer, RunConfig, RunRecord, Status, StepEvent, TrainProtocol, interrupt,
};

/// Attention, dropout in three places (the random stream matters) and learned positions.
const MODEL: &str = "model small(context = 16, d = 16) {
    embedding(dim = d)
    position_embedding()
    dropout(p = 0.1)
    attention(heads = 2, dropout = 0.1)
    feed_forward(hidden = 32, dropout = 0.1)
    head()
}
";

fn config(corpus: &str) -> RunConfig {
    let mut c = RunConfig::new(corpus, 0.0, 16);
    c.budget = None;
    c.stop.max_steps = Some(60);
    c.batch = 16;
    c.eval_interval = 10;
    c.max_eval_batches = Some(2);
    c.train = TrainProtocol::Study { samples: 160, first_tokens: None };
    c.eval = EvalProtocol::FirstWindows(64);
    c
}

/// Asks the run to stop once it has taken step `.0`, and counts the steps it saw.
struct StopAt(u64, u64);

impl Observer for StopAt {
    fn step(&mut self, e: &StepEvent) {
        self.1 += 1;
        if e.step == self.0 {
            interrupt::request();
        }
    }
}

fn files(dir: &Path) -> (Vec<u8>, String) {
    (fs::read(dir.join("model.safetensors")).unwrap(), fs::read_to_string(dir.join("curve.jsonl")).unwrap())
}

fn numbers(r: &RunRecord) -> (Option<f64>, Option<f64>, Option<f64>, u64, u128, Option<u64>) {
    (r.train_nll, r.valid_nll, r.test_nll, r.steps, r.flops_used.exact, r.selected_step)
}

#[test]
fn runs_stopped_at_any_step_resume_to_the_same_end() {
    let scratch = TempDir::new("resume-library");
    let dataset = data::load("tiny-shakespeare", &Locator::new(vec![common::data_dir()]), None, None).unwrap();
    let spec = ModelSpec::inline("small", MODEL);
    let c = config(&dataset.corpus);
    let train = |dir: &Path, observer: &mut dyn Observer| {
        api::train(&spec, &dataset, &c, DeviceKind::Cpu, dir, observer).unwrap()
    };
    let whole_dir = scratch.0.join("whole");
    let whole = train(&whole_dir, &mut train::Silent);
    assert_eq!((whole.status, whole.steps), (Status::Completed, 60));
    assert!(!whole_dir.join(train::RESUME_FILE).exists(), "a finished run keeps no checkpoint");
    let expected = files(&whole_dir);

    // Stops at the first step, at validations (10, 20), between them, within an epoch (160
    // windows = 10 batches), and twice in one run.
    for stops in [&[1][..], &[10], &[20], &[23], &[37, 41], &[15, 40, 59]] {
        let dir = scratch.0.join(format!("stopped-{stops:?}"));
        let mut done = 0;
        for &k in stops {
            let mut observer = StopAt(k, 0);
            let r = train(&dir, &mut observer);
            interrupt::clear();
            assert_eq!((r.status, r.steps), (Status::Interrupted, k), "{stops:?}");
            assert_eq!(observer.1, k - done, "{stops:?}: each attempt goes on where the last stopped");
            done = k;
            assert!(dir.join(train::RESUME_FILE).is_file());
        }
        let mut observer = StopAt(0, 0);
        let r = train(&dir, &mut observer);
        assert_eq!(observer.1, 60 - done, "{stops:?}: the last attempt trains only the steps left");
        assert_eq!(numbers(&r), numbers(&whole), "stopped at {stops:?}");
        assert!(files(&dir) == expected, "stopped at {stops:?}: the weights or the curve differ");
        // One record for the whole run; no checkpoint left.
        assert_eq!(RunRecord::read_all(&dir.join("results.jsonl")).unwrap().len(), 1);
        assert!(!dir.join(train::RESUME_FILE).exists());
    }
}

/// The `small` model, a corpus and the command for a run of `steps` steps, in `dir`.
fn cli_setup(dir: &Path) {
    fs::write(dir.join("small.model"), MODEL).unwrap();
    let line = "the quick brown fox jumps over the lazy dog and runs far away from here\n";
    fs::write(dir.join("notes.txt"), line.repeat(400)).unwrap();
    ok(dir, &["corpora", "add", "notes", "--text", "notes.txt", "--data", "d"]);
}

const RUN: [&str; 11] =
    ["run", "small.model", "--corpus", "notes", "--data", "d", "--max-steps", "400", "--batch", "64", "-q"];

/// Waits until the run folder under `dir` holds a checkpoint; returns the folder.
fn first_checkpoint(dir: &Path) -> PathBuf {
    let start = Instant::now();
    loop {
        // The folder's lock file sits beside it: look at folders only.
        let found = fs::read_dir(dir)
            .into_iter()
            .flatten()
            .map(|e| e.unwrap().path())
            .find(|p| p.is_dir() && p.join(train::RESUME_FILE).is_file());
        if let Some(folder) = found {
            return folder;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no checkpoint appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn only_run(out: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> =
        fs::read_dir(out.join("notes")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    assert_eq!(dirs.len(), 1);
    dirs.remove(0)
}

#[cfg(unix)]
#[test]
fn killed_or_terminated_processes_resume_to_the_same_end() {
    let scratch = TempDir::new("resume-cli");
    let d = &scratch.0;
    cli_setup(d);
    fn with_out(out: &str) -> Vec<&str> {
        RUN.iter().copied().chain(["--out", out]).collect()
    }
    ok(d, &with_out("whole"));
    let whole = only_run(&d.join("whole"));
    let expected = files(&whole);
    let expected_record = RunRecord::read_all(&whole.join("results.jsonl")).unwrap().remove(0);

    for (signal, out) in [(libc::SIGKILL, "killed"), (libc::SIGTERM, "terminated")] {
        let args = with_out(out);
        let mut child = command(d, &args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        // Wait for a checkpoint (written at each validation, every 100 steps), then stop it.
        let folder = first_checkpoint(&d.join(out).join("notes"));
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        assert!(!status.success());
        // A write the kill cut short: a temporary file that never became the checkpoint.
        fs::write(folder.join(format!(".{}.tmp4242", train::RESUME_FILE)), b"half a checkpoint").unwrap();
        let loud: Vec<&str> = args.iter().copied().filter(|a| *a != "-q").collect();
        let (code, _, stderr) = tinyarch(d, &loud);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stderr.contains("going on from the checkpoint"), "{stderr}");
        let record = RunRecord::read_all(&folder.join("results.jsonl")).unwrap();
        assert_eq!(record.len(), 1, "{signal}: one record for the whole run");
        assert_eq!(numbers(&record[0]), numbers(&expected_record), "signal {signal}");
        assert!(files(&folder) == expected, "signal {signal}: the weights or the curve differ");
        let left: Vec<String> =
            fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(left.iter().all(|n| !n.starts_with('.')), "{left:?}");
    }
}

#[cfg(unix)]
#[test]
fn an_interrupted_sweep_cell_goes_on_from_its_checkpoint() {
    let scratch = TempDir::new("resume-sweep");
    let d = &scratch.0;
    cli_setup(d);
    fs::write(
        d.join("one.ron"),
        r#"(
    corpus: "notes",
    models: [(file: "small.model")],
    budgets: [3e10],
    seeds: [1],
    settings: (batch: 64, eval_interval: 50, max_eval_batches: 2),
)"#,
    )
    .unwrap();
    fn sweep(out: &str) -> Vec<&str> {
        vec!["sweep", "one.ron", "--data", "d", "--out", out]
    }
    ok(d, &sweep("whole"));
    let whole = only_run(&d.join("whole"));
    let args = sweep("stopped");
    let mut child = command(d, &args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let cell = first_checkpoint(&d.join("stopped/notes"));
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(143));
    let again = ok(d, &args);
    assert!(again.contains("going on from step"), "the cell was redone instead of resumed:\n{again}");
    assert!(again.contains("1 cells trained"), "{again}");
    assert!(files(&cell) == files(&whole), "the weights or the curve differ");
    let (a, b) = (
        RunRecord::read_all(&cell.join("results.jsonl")).unwrap(),
        RunRecord::read_all(&whole.join("results.jsonl")).unwrap(),
    );
    assert_eq!(a.iter().map(numbers).collect::<Vec<_>>(), b.iter().map(numbers).collect::<Vec<_>>());
}
