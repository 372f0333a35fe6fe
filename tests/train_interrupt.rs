//! Ctrl-C: the runner finishes the step in flight, evaluates nothing more and writes what is
//! complete. Its own test binary, because the stop flag is process-wide.

mod train_support;

use tinyarch::train::{self, EvalProtocol, ModelSource, Observer, RunConfig, RunRecord, Status, StepEvent, interrupt};
use train_support::{Bigram, scratch, shakespeare};

/// Presses Ctrl-C (through the public function the handler calls) after step `at`.
struct PressAt {
    at: u64,
    last_step: u64,
}

impl Observer for PressAt {
    fn step(&mut self, e: &StepEvent) {
        self.last_step = e.step;
        if e.step == self.at {
            interrupt::request();
        }
    }
}

#[test]
fn an_interrupted_run_keeps_what_was_complete() {
    interrupt::install().unwrap();
    interrupt::install().unwrap(); // a second call is harmless
    let mut c = RunConfig::new("tiny-shakespeare", 1e9, 8);
    c.eval = EvalProtocol::FirstWindows(500);
    c.eval_interval = 5;
    let dir = scratch("interrupted");
    let mut model = Bigram::new(65, 8, c.optimizer);
    let source = ModelSource::new("bigram", "model bigram() {}\n");
    let mut press = PressAt { at: 7, last_step: 0 };
    let r = train::run(&mut model, &source, shakespeare(), &c, &dir, &mut press).unwrap();
    interrupt::clear();

    assert_eq!(r.status, Status::Interrupted);
    assert_eq!(press.last_step, 7);
    assert_eq!(r.steps, 7);
    assert_eq!(r.flops_used.exact, 7 * 64 * 6 * 65);
    // The validation at step 5 was complete: kept, with its weights; nothing evaluated after.
    assert_eq!(r.selected_step, Some(5));
    assert!(r.valid_nll.is_some());
    assert_eq!((r.test_nll, r.train_nll, r.perplexity), (None, None, None));
    assert_eq!(RunRecord::read_all(&dir.join("results.jsonl")).unwrap(), vec![r.clone()]);
    let curve = std::fs::read_to_string(dir.join("curve.jsonl")).unwrap();
    assert_eq!(curve.lines().count(), 7);
    for file in ["model.model", "run.ron", "model.safetensors"] {
        assert!(dir.join(file).exists(), "{file}");
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "a temporary file was left: {name}");
    }

    // After clearing the flag, runs go on normally.
    c.budget = Some(10.0 * 64.0 * 6.0 * 65.0);
    press.at = u64::MAX;
    let r = train::run(&mut Bigram::new(65, 8, c.optimizer), &source, shakespeare(), &c, &scratch("after"), &mut press)
        .unwrap();
    assert_eq!((r.status, r.steps), (Status::Completed, 10));
}
