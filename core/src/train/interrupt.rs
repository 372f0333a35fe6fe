//! Ctrl-C (SIGINT) and SIGTERM, which Slurm and other schedulers send before they stop a job:
//! one process-wide flag. The handler only sets it; the runner reads it between steps, finishes
//! the step in flight, evaluates nothing more and writes what is complete. A second signal ends
//! the process at once with `128 + signal`; files are written atomically, so what is on disk
//! stays whole.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Once};

use signal_hook::consts::{SIGINT, SIGTERM};

static REQUESTED: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(false)));
/// The last signal received; 0 for none (or a stop asked for by [`request`]).
static SIGNAL: LazyLock<Arc<AtomicUsize>> = LazyLock::new(|| Arc::new(AtomicUsize::new(0)));
static INSTALL: Once = Once::new();

/// Installs the handlers for SIGINT and SIGTERM (once per process; later calls do nothing).
pub fn install() -> Result<(), String> {
    let mut result = Ok(());
    INSTALL.call_once(|| {
        let registered: std::io::Result<()> = [SIGINT, SIGTERM].into_iter().try_for_each(|signal| {
            // Registered first, so it sees the flag as the first signal left it: only a second
            // signal exits.
            signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, Arc::clone(&REQUESTED))?;
            signal_hook::flag::register_usize(signal, Arc::clone(&SIGNAL), signal as usize)?;
            signal_hook::flag::register(signal, Arc::clone(&REQUESTED)).map(|_| ())
        });
        result = registered.map_err(|e| format!("cannot install the signal handlers: {e}"));
    });
    result
}

/// Asks every run in this process to stop after its current step (what Ctrl-C does).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// The signal that asked for the stop (`SIGINT` = 2, `SIGTERM` = 15), if one did.
pub fn signal() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s as i32),
    }
}

/// What asked for the stop, for messages: `ctrl-c`, `SIGTERM` or `a request`.
pub fn cause() -> &'static str {
    match signal() {
        Some(SIGINT) => "ctrl-c",
        Some(SIGTERM) => "SIGTERM",
        _ => "a request",
    }
}

/// The exit status for a stop: `128 + signal` as shells report it (130 for Ctrl-C, 143 for
/// SIGTERM); 130 for a stop asked for without a signal.
pub fn exit_status() -> u8 {
    (128 + signal().unwrap_or(SIGINT)) as u8
}

/// Forgets a stop request (for programs that go on after one, and tests).
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
    SIGNAL.store(0, Ordering::SeqCst);
}
