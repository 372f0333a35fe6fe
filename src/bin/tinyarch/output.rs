//! What every command shares about output: `--quiet`, `--json`, progress, and the exit codes.
//!
//! Results (tables, JSON) go to stdout; progress, notes and errors to stderr or, for progress on
//! a terminal without `--json`, to stdout as before. `--quiet` drops progress and notes.

use std::process::ExitCode;
use std::sync::OnceLock;

use serde::Serialize;
use tinyarch::train::{Observer, Progress, Silent};

/// The exit status after a stop by Ctrl-C (130) or SIGTERM (143), once what was complete is
/// saved: 128 + the signal, as shells report it. The other codes: 0 success, 1 an error,
/// 2 wrong arguments (clap's); `help::MAIN` lists them.
pub fn interrupted() -> std::process::ExitCode {
    std::process::ExitCode::from(tinyarch::train::interrupt::exit_status())
}

/// `--quiet`, set once in `main`.
static QUIET: OnceLock<bool> = OnceLock::new();

pub fn set_quiet(quiet: bool) {
    let _ = QUIET.set(quiet);
}

/// Whether `--quiet` was given: show no progress and no notes.
pub fn quiet() -> bool {
    QUIET.get().copied().unwrap_or(false)
}

/// How a command shows a run's progress: nothing under `--quiet`; on stderr under `--json`,
/// whose records own stdout.
pub fn progress(log_every: u64, json: bool) -> Box<dyn Observer> {
    if quiet() {
        Box::new(Silent)
    } else if json {
        Box::new(Progress::on_stderr(log_every))
    } else {
        Box::new(Progress::new(log_every))
    }
}

/// Prints `value` as one line of JSON on stdout (a JSON-lines stream of records).
pub fn json_line(value: &impl Serialize) -> ExitCode {
    match serde_json::to_string(value) {
        Ok(line) => {
            say!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot encode the output as JSON: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints `value` as one pretty JSON document on stdout.
pub fn json_document(value: &impl Serialize) -> ExitCode {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            say!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot encode the output as JSON: {e}");
            ExitCode::FAILURE
        }
    }
}
