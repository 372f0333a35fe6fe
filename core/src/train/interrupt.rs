//! Ctrl-C: one process-wide flag. The handler only sets it; the runner reads it between steps,
//! finishes the step in flight, evaluates nothing more and writes what is complete.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Installs the Ctrl-C handler (once per process; later calls do nothing). An error if another
/// handler was installed by someone else.
pub fn install() -> Result<(), String> {
    let mut result = Ok(());
    INSTALL.call_once(|| {
        result = ctrlc::set_handler(request).map_err(|e| format!("cannot install the ctrl-c handler: {e}"));
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

/// Forgets a stop request (for programs that go on after one, and tests).
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}
