//! One trainer per run folder: a lock file beside the folder (`.<name>.lock`, holding the
//! owner's process id), created exclusively and removed when the run ends. Two sweeps sharing an
//! output folder therefore never train the same cell: the second skips it.
//!
//! A lock whose process is gone (killed with `kill -9`, a machine that rebooted) is stale and
//! is taken over. On systems where a process cannot be looked up, a lock is trusted while it is
//! younger than a day.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::error::TrainError;

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

/// Who holds a lock that could not be taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// The lock file.
    pub path: PathBuf,
    /// The holder's process id, if the file names one.
    pub pid: Option<u32>,
}

impl RunLock {
    /// The lock of the run folder `dir`: `Ok(Err(held))` when a live process holds it.
    pub fn acquire(dir: &Path) -> Result<Result<RunLock, Held>, TrainError> {
        let path = lock_path(dir);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| TrainError::io("create", parent, e))?;
        }
        // Two tries: a stale lock is removed once, then taken like a free one.
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    let _ = writeln!(file, "{}", std::process::id());
                    return Ok(Ok(RunLock { path }));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let pid = fs::read_to_string(&path).ok().and_then(|t| t.trim().parse::<u32>().ok());
                    if !stale(&path, pid) {
                        return Ok(Err(Held { path, pid }));
                    }
                    let _ = fs::remove_file(&path);
                }
                Err(e) => return Err(TrainError::io("create", &path, e)),
            }
        }
        let pid = fs::read_to_string(&path).ok().and_then(|t| t.trim().parse::<u32>().ok());
        Ok(Err(Held { path, pid }))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// `<parent>/.<name>.lock`: beside the folder, so clearing the folder keeps the lock.
pub fn lock_path(dir: &Path) -> PathBuf {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into());
    dir.with_file_name(format!(".{name}.lock"))
}

/// Whether the lock's holder is gone.
fn stale(path: &Path, pid: Option<u32>) -> bool {
    #[cfg(unix)]
    if let Some(pid) = pid {
        if pid == std::process::id() {
            return false;
        }
        // Signal 0 checks that the process exists; EPERM means it exists under another user.
        // SAFETY: kill with signal 0 sends nothing.
        let alive = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        return !alive;
    }
    let _ = pid;
    // Unknown holder: trust a recent lock only.
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_none_or(|age| age.as_secs() > 24 * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_refused_and_a_dead_holders_lock_is_taken_over() {
        let dir = std::env::temp_dir().join(format!("tinyarch-lock-{}", std::process::id()));
        let run = dir.join("cell");
        let first = RunLock::acquire(&run).unwrap().unwrap();
        // The same process asking again is refused too: one trainer per folder.
        let held = RunLock::acquire(&run).unwrap().unwrap_err();
        assert_eq!(held.pid, Some(std::process::id()));
        drop(first);
        assert!(!lock_path(&run).exists());
        // A lock left by a process that no longer exists.
        fs::write(lock_path(&run), format!("{}\n", u32::MAX - 7)).unwrap();
        let taken = RunLock::acquire(&run).unwrap();
        assert!(taken.is_ok(), "{taken:?}");
        drop(taken);
        let _ = fs::remove_dir_all(&dir);
    }
}
