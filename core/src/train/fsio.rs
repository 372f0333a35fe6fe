//! Atomic file writes: a reader (or a crash) sees the old file or the new one, never half of one.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::TrainError;

/// Writes `bytes` to `path` through a temporary file in the same folder: write, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // A dot name with the process id: hidden from listings, unique per writer.
    let temp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut file = File::create(&temp).map_err(|e| TrainError::io("create", &temp, e))?;
        file.write_all(bytes).map_err(|e| TrainError::io("write", &temp, e))?;
        file.sync_all().map_err(|e| TrainError::io("sync", &temp, e))?;
        fs::rename(&temp, path).map_err(|e| TrainError::io("rename into", path, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
        return result;
    }
    // Persist the rename itself; not every platform can open a folder, so this is best effort.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Appends one line to `path` atomically: the whole file is rewritten with the line added.
pub fn append_line_atomic(path: &Path, line: &str) -> Result<(), TrainError> {
    let mut text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(TrainError::io("read", path, e)),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(line);
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Removes the temporary files of writes that a killed process never finished (`.NAME.tmpPID`):
/// the files they were to replace are whole, and nothing else writes into a locked run folder.
pub fn remove_leftovers(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Creates `dir` and its parents.
pub fn create_dir(dir: &Path) -> Result<(), TrainError> {
    fs::create_dir_all(dir).map_err(|e| TrainError::io("create", dir, e))
}
