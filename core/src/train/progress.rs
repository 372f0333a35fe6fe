//! Watching a run: the runner reports start, steps, evaluations and the end to an [`Observer`].
//! [`Progress`] shows them as an indicatif bar on a terminal, or as plain lines every N steps
//! when the stream is a file or a pipe (logs stay readable).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::record::RunRecord;
use crate::ir::Convention;
use crate::units::{clock, human, thousands};

/// A run is about to take its first step.
#[derive(Clone, Debug)]
pub struct StartEvent {
    pub model: String,
    pub device: String,
    pub params: u64,
    /// Steps the run will take; `None` when only a time limit ends it.
    pub total_steps: Option<u64>,
    /// The budget in whole FLOPs of `convention`, if there is one.
    pub budget: Option<u128>,
    pub convention: Convention,
    /// FLOPs of a full-batch step.
    pub step_cost: u128,
    /// The step a checkpoint brought the run back to, if it goes on from one.
    pub resumed_at: Option<u64>,
}

/// A step finished.
#[derive(Clone, Debug)]
pub struct StepEvent {
    /// Steps done.
    pub step: u64,
    /// Steps the run will take; `None` when only a time limit ends it.
    pub total_steps: Option<u64>,
    /// FLOPs spent so far, in the run's convention.
    pub flops: u128,
    pub loss: f32,
    pub lr: f64,
    /// Input tokens per second of training so far.
    pub tokens_per_second: f64,
    /// Since the start, evaluations included.
    pub elapsed: Duration,
}

/// A validation evaluation finished.
#[derive(Clone, Debug)]
pub struct EvalEvent {
    /// Steps done.
    pub step: u64,
    pub nll: f64,
    /// The best validation NLL so far.
    pub best: bool,
}

/// A checkpoint was written.
#[derive(Clone, Debug)]
pub struct CheckpointEvent {
    /// Steps done.
    pub step: u64,
    /// The file's size.
    pub bytes: u64,
    /// The time the write took.
    pub seconds: f64,
}

/// Receives a run's events. Every method does nothing by default.
pub trait Observer {
    fn start(&mut self, _event: &StartEvent) {}
    fn step(&mut self, _event: &StepEvent) {}
    fn eval(&mut self, _event: &EvalEvent) {}
    fn checkpoint(&mut self, _event: &CheckpointEvent) {}
    fn end(&mut self, _record: &RunRecord) {}
}

/// Shows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Observer for Silent {}

/// A progress bar on a terminal, plain lines otherwise.
pub struct Progress {
    mode: Mode,
    /// Plain mode: print every this many steps (and the last).
    log_every: u64,
    model: String,
    /// The run's budget, for the share spent.
    budget: Option<u128>,
    /// Bars and lines go to stderr (stdout carries machine-readable output).
    stderr: bool,
}

enum Mode {
    Bar(Option<ProgressBar>),
    Lines(Box<dyn Write + Send>),
}

impl Progress {
    /// A bar if stdout is a terminal, else lines on stdout every `log_every` steps.
    pub fn new(log_every: u64) -> Progress {
        if std::io::stdout().is_terminal() {
            Progress::bar(log_every, false)
        } else {
            Progress::lines(Box::new(std::io::stdout()), log_every)
        }
    }

    /// As [`Progress::new`], on stderr: for when stdout carries records (`--json`).
    pub fn on_stderr(log_every: u64) -> Progress {
        if std::io::stderr().is_terminal() {
            Progress::bar(log_every, true)
        } else {
            Progress::lines(Box::new(std::io::stderr()), log_every)
        }
    }

    fn bar(log_every: u64, stderr: bool) -> Progress {
        Progress { mode: Mode::Bar(None), log_every: log_every.max(1), model: String::new(), budget: None, stderr }
    }

    /// Plain lines to `out` every `log_every` steps.
    pub fn lines(out: Box<dyn Write + Send>, log_every: u64) -> Progress {
        Progress {
            mode: Mode::Lines(out),
            log_every: log_every.max(1),
            model: String::new(),
            budget: None,
            stderr: false,
        }
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.stderr { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::stdout() }
    }

    fn say(&mut self, line: &str) {
        match &mut self.mode {
            Mode::Bar(Some(bar)) => bar.println(line),
            // A closed pipe must not stop training.
            Mode::Bar(None) if self.stderr => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
            Mode::Bar(None) => {
                let _ = writeln!(std::io::stdout(), "{line}");
            }
            Mode::Lines(out) => {
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
        }
    }
}

impl Observer for Progress {
    fn start(&mut self, e: &StartEvent) {
        self.model = e.model.clone();
        let steps = e.total_steps.map_or("steps until the time limit".into(), |n| format!("{} steps", thousands(n)));
        let within = e.budget.map_or(String::new(), |b| format!(" within {}", flops(b)));
        let line = format!(
            "{}: {} params on {}, {steps} of {} FLOPs ({}){within}",
            e.model,
            thousands(e.params),
            e.device,
            flops(e.step_cost),
            e.convention,
        );
        self.budget = e.budget;
        self.say(&line);
        if let Some(step) = e.resumed_at {
            let line = format!("{}: going on from step {step}, where its checkpoint left it", e.model);
            self.say(&line);
        }
        let target = self.target();
        if let Mode::Bar(bar) = &mut self.mode {
            let template = match e.total_steps {
                Some(_) => "{prefix} [{bar:30}] {pos}/{len} steps  {msg}  eta {eta}",
                None => "{prefix} {pos} steps  {msg}  {elapsed}",
            };
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            let b = ProgressBar::with_draw_target(e.total_steps, target);
            b.set_style(style);
            b.set_prefix(e.model.clone());
            *bar = Some(b);
        }
    }

    fn step(&mut self, e: &StepEvent) {
        let spent = match self.budget {
            Some(b) => format!("{}/{} ({:.0}%)", flops(e.flops), flops(b), 100.0 * e.flops as f64 / b as f64),
            None => flops(e.flops),
        };
        let status = format!("flops {spent}  loss {:.4}  {} tok/s", e.loss, thousands(e.tokens_per_second as u64));
        match &mut self.mode {
            Mode::Bar(Some(bar)) => {
                bar.set_position(e.step);
                bar.set_message(status);
            }
            Mode::Bar(None) => {}
            Mode::Lines(_) => {
                if e.step.is_multiple_of(self.log_every) || Some(e.step) == e.total_steps {
                    let line = match e.total_steps {
                        Some(total) => {
                            let eta = e.elapsed.mul_f64((total - e.step.min(total)) as f64 / e.step as f64);
                            format!(
                                "{} step {}/{total}  {status}  lr {:.2e}  eta {}",
                                self.model,
                                e.step,
                                e.lr,
                                clock(eta)
                            )
                        }
                        None => format!(
                            "{} step {}  {status}  lr {:.2e}  elapsed {}",
                            self.model,
                            e.step,
                            e.lr,
                            clock(e.elapsed)
                        ),
                    };
                    self.say(&line);
                }
            }
        }
    }

    fn eval(&mut self, e: &EvalEvent) {
        let best = if e.best { " (best)" } else { "" };
        let line = format!("{} step {}: valid nll {:.4}{best}", self.model, e.step, e.nll);
        self.say(&line);
    }

    fn checkpoint(&mut self, e: &CheckpointEvent) {
        // In logs only: a bar has no room for it.
        if let Mode::Lines(_) = self.mode {
            let line = format!(
                "{} step {}: checkpoint of {} written in {:.0} ms",
                self.model,
                e.step,
                crate::units::bytes(e.bytes),
                e.seconds * 1e3
            );
            self.say(&line);
        }
    }

    fn end(&mut self, r: &RunRecord) {
        if let Mode::Bar(bar) = &mut self.mode
            && let Some(b) = bar.take()
        {
            b.finish_and_clear();
        }
        let test = r.test_nll.map_or("-".to_string(), |x| format!("{x:.4}"));
        let mut line = format!(
            "{}: {} after {} steps, {} FLOPs ({}), test nll {test}, {:.1} s",
            r.model,
            r.status.name(),
            thousands(r.steps),
            flops(r.flops_used.get(r.convention)),
            r.convention,
            r.wall_seconds
        );
        if let Some(m) = &r.message {
            line.push_str(&format!(": {m}"));
        }
        self.say(&line);
    }
}

fn flops(n: u128) -> String {
    u64::try_from(n).map_or_else(|_| format!("{:.2e}", n as f64), human)
}
