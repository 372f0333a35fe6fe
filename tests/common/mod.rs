//! Helpers shared by the integration tests: where the corpora are, and scratch folders.
#![allow(dead_code)] // each test crate uses a different part

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The corpora: `$TINYARCH_DATA`, else `../shared/corpora` beside the checkout (CI's layout).
pub fn data_dir() -> PathBuf {
    match std::env::var_os("TINYARCH_DATA") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora"),
    }
}

/// The checkout (models, fixtures): `$TINYARCH_REPO` where a test executable was carried to
/// another machine, such as a GPU machine without cargo.
pub fn repo_dir() -> PathBuf {
    std::env::var_os("TINYARCH_REPO").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
}

/// Every `.model` file below `dir`, sorted.
pub fn model_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot read {}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "model") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Cargo's per-target temporary directory, or `$TINYARCH_SCRATCH` on such a machine.
pub fn scratch_root() -> PathBuf {
    std::env::var_os("TINYARCH_SCRATCH").map_or_else(|| env!("CARGO_TARGET_TMPDIR").into(), PathBuf::from)
}

/// A fresh folder under Cargo's per-target temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// Every file under the folder, relative, sorted.
    pub fn files(&self) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    out.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.0, &self.0, &mut out);
        out.sort();
        out
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The `tinyarch` binary, to run in `dir` with a private cache and without `$TINYARCH_DATA`,
/// so that nothing reaches the user's folders.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tinyarch"));
    c.args(args).current_dir(dir).env_remove("TINYARCH_DATA").env("TINYARCH_CACHE", dir.join("cache"));
    c
}

/// Runs [`command`]: exit code, stdout, stderr.
pub fn tinyarch(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = command(dir, args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Like [`tinyarch`], but the command must succeed; returns stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let (code, stdout, stderr) = tinyarch(dir, args);
    assert_eq!(code, Some(0), "tinyarch {args:?} failed:\n{stderr}");
    stdout
}
