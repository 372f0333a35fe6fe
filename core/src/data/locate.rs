//! Finding corpus files and verifying them against their SHA-256.
//!
//! Files are looked up in `--data DIR`, then `$TINYARCH_DATA`, then the per-user cache
//! (`$TINYARCH_CACHE`, else `dirs::cache_dir()/tinyarch`), each at `<dir>/<corpus dir>/<file>`.
//! Every file is verified before use. Hashing 13 MB on every run is cheap but not free, so a
//! successful (or failed) verification is remembered in a stamp file in the cache, keyed by the
//! file's absolute path, size, modification time (and on Unix inode and change time): any write
//! to the file changes the key and forces a new hash. The stamp is only an optimisation: when it
//! cannot be read or written, files are simply hashed again.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use super::descriptor::{Descriptor, FileSpec};
use super::error::{DataError, Searched};

/// Environment variable naming a data directory.
pub const DATA_ENV: &str = "TINYARCH_DATA";
/// Environment variable overriding the per-user cache directory.
pub const CACHE_ENV: &str = "TINYARCH_CACHE";
/// The stamp file's name inside the cache directory.
const STAMP_FILE: &str = "verified-sha256.tsv";

/// Where a data directory came from; shown in error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirOrigin {
    /// The `--data` flag.
    Flag,
    /// `$TINYARCH_DATA`.
    Env,
    /// The per-user cache.
    Cache,
    /// Given directly through the library API.
    Explicit,
}

impl std::fmt::Display for DirOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DirOrigin::Flag => "`--data`",
            DirOrigin::Env => "`$TINYARCH_DATA`",
            DirOrigin::Cache => "the user cache",
            DirOrigin::Explicit => "the data directory given",
        })
    }
}

/// A directory that may hold corpus folders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDir {
    /// The directory.
    pub path: PathBuf,
    /// Where it came from.
    pub origin: DirOrigin,
}

/// The search path for corpus files, and where verification stamps are kept.
#[derive(Clone, Debug)]
pub struct Locator {
    dirs: Vec<DataDir>,
    stamp_file: Option<PathBuf>,
}

/// The per-user cache directory: `$TINYARCH_CACHE`, else `dirs::cache_dir()/tinyarch`.
pub fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os(CACHE_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => dirs::cache_dir().map(|d| d.join("tinyarch")),
    }
}

impl Locator {
    /// The standard search path: `data` (the `--data` flag), then `$TINYARCH_DATA`, then the
    /// user cache, which also keeps the stamps.
    pub fn from_env(data: Option<&Path>) -> Locator {
        let mut dirs = Vec::new();
        if let Some(d) = data {
            dirs.push(DataDir { path: d.to_path_buf(), origin: DirOrigin::Flag });
        }
        if let Some(d) = std::env::var_os(DATA_ENV).filter(|d| !d.is_empty()) {
            dirs.push(DataDir { path: PathBuf::from(d), origin: DirOrigin::Env });
        }
        let cache = cache_dir();
        if let Some(c) = &cache {
            dirs.push(DataDir { path: c.clone(), origin: DirOrigin::Cache });
        }
        Locator { dirs, stamp_file: cache.map(|c| c.join(STAMP_FILE)) }
    }

    /// Exactly these directories, searched in order, with no stamp cache (every file is hashed).
    pub fn new(dirs: impl IntoIterator<Item = PathBuf>) -> Locator {
        Locator {
            dirs: dirs.into_iter().map(|path| DataDir { path, origin: DirOrigin::Explicit }).collect(),
            stamp_file: None,
        }
    }

    /// Keeps verification stamps in `dir` (created when needed), or nowhere.
    pub fn with_stamp_dir(mut self, dir: Option<PathBuf>) -> Locator {
        self.stamp_file = dir.map(|d| d.join(STAMP_FILE));
        self
    }

    /// The directories searched, in order.
    pub fn dirs(&self) -> &[DataDir] {
        &self.dirs
    }

    /// Errors if a directory named explicitly (flag, environment, API) does not exist; the
    /// cache may not exist yet. [`Locator::find`] makes the same check.
    pub fn check_dirs(&self) -> Result<(), DataError> {
        match self.dirs.iter().find(|d| d.origin != DirOrigin::Cache && !d.path.is_dir()) {
            Some(d) => Err(DataError::DataDirMissing { path: d.path.clone(), origin: d.origin.to_string() }),
            None => Ok(()),
        }
    }

    /// The path of `file` of `corpus`: the first data directory that has it.
    ///
    /// A directory named explicitly (flag, environment, API) that does not exist is an error,
    /// since it is almost certainly a typo; the cache may not exist yet.
    pub fn find(&self, corpus: &Descriptor, file: &FileSpec) -> Result<PathBuf, DataError> {
        let mut searched = Vec::new();
        for dir in &self.dirs {
            let dir_exists = dir.path.is_dir();
            if !dir_exists && dir.origin != DirOrigin::Cache {
                return Err(DataError::DataDirMissing { path: dir.path.clone(), origin: dir.origin.to_string() });
            }
            let path = dir.path.join(&corpus.dir).join(&file.name);
            if path.is_file() {
                return Ok(path);
            }
            searched.push(Searched { path, origin: dir.origin.to_string(), dir_exists });
        }
        Err(DataError::MissingFile {
            corpus: corpus.name.clone(),
            file: format!("{}/{}", corpus.dir, file.name),
            searched,
        })
    }

    /// Finds `file` and checks its hash (using the stamp cache); returns its path.
    pub fn verify(&self, corpus: &Descriptor, file: &FileSpec) -> Result<PathBuf, DataError> {
        let path = self.find(corpus, file)?;
        let meta = metadata(&path)?;
        let key = stamp_key(&path, &meta);
        let stamps = self.load_stamps();
        let (actual, actual_bytes) = match key.as_ref().and_then(|k| stamps.get(k)) {
            Some(hash) => (hash.clone(), meta.len()),
            None => {
                let (hash, bytes) = sha256_file(&path)?;
                if let Some(k) = key {
                    self.save_stamp(stamps, k, &hash);
                }
                (hash, bytes)
            }
        };
        check_hash(corpus, file, &path, &actual, actual_bytes)?;
        Ok(path)
    }

    /// Finds `file`, reads it whole and checks the bytes read: no caller ever sees bytes that
    /// did not match the descriptor's SHA-256.
    pub fn read_verified(&self, corpus: &Descriptor, file: &FileSpec) -> Result<(PathBuf, Vec<u8>), DataError> {
        let path = self.find(corpus, file)?;
        let before = metadata(&path)?;
        let bytes =
            std::fs::read(&path).map_err(|source| DataError::Io { action: "read", path: path.clone(), source })?;
        let after = metadata(&path)?;
        let key = stamp_key(&path, &before);
        let stamps = self.load_stamps();
        // Trust a stamp only if the file did not change while it was read and the read got
        // exactly the stamped size.
        let stamped = key
            .as_ref()
            .filter(|_| stamp_key(&path, &after) == key && bytes.len() as u64 == before.len())
            .and_then(|k| stamps.get(k))
            .filter(|h| **h == file.sha256)
            .cloned();
        let actual = match stamped {
            Some(hash) => hash,
            None => {
                let hash = sha256_hex(&bytes);
                if let Some(k) = key {
                    self.save_stamp(stamps, k, &hash);
                }
                hash
            }
        };
        check_hash(corpus, file, &path, &actual, bytes.len() as u64)?;
        Ok((path, bytes))
    }

    fn load_stamps(&self) -> HashMap<String, String> {
        let Some(file) = &self.stamp_file else {
            return HashMap::new();
        };
        let Ok(text) = std::fs::read_to_string(file) else {
            return HashMap::new();
        };
        text.lines()
            .filter_map(|line| {
                let (hash, key) = line.split_once('\t')?;
                Some((key.to_string(), hash.to_string()))
            })
            .collect()
    }

    /// Records one hash; never fails (a stamp is only a cache). Written to a temporary file and
    /// renamed so a concurrent reader never sees half a file.
    fn save_stamp(&self, mut stamps: HashMap<String, String>, key: String, hash: &str) {
        let Some(file) = &self.stamp_file else {
            return;
        };
        stamps.insert(key, hash.to_string());
        let Some(dir) = file.parent() else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let mut lines: Vec<String> = stamps.iter().map(|(k, h)| format!("{h}\t{k}\n")).collect();
        lines.sort();
        let tmp = dir.join(format!(".{STAMP_FILE}.{}.tmp", std::process::id()));
        let written = File::create(&tmp)
            .and_then(|mut f| f.write_all(lines.concat().as_bytes()))
            .and_then(|()| std::fs::rename(&tmp, file));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

fn metadata(path: &Path) -> Result<std::fs::Metadata, DataError> {
    std::fs::metadata(path).map_err(|source| DataError::Io { action: "inspect", path: path.to_path_buf(), source })
}

/// The stamp key of a file: everything that changes when its contents do. Tabs and newlines in
/// a path would break the line format, so such files are simply not stamped.
fn stamp_key(path: &Path, meta: &std::fs::Metadata) -> Option<String> {
    let abs = std::fs::canonicalize(path).ok()?;
    let abs = abs.to_str()?;
    if abs.contains(['\t', '\n', '\r']) {
        return None;
    }
    let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    #[cfg(unix)]
    let extra = {
        use std::os::unix::fs::MetadataExt;
        format!("{}:{}:{}.{}", meta.dev(), meta.ino(), meta.ctime(), meta.ctime_nsec())
    };
    #[cfg(not(unix))]
    let extra = String::from("-");
    Some(format!("{}\t{}.{}\t{extra}\t{abs}", meta.len(), mtime.as_secs(), mtime.subsec_nanos()))
}

fn check_hash(
    corpus: &Descriptor,
    file: &FileSpec,
    path: &Path,
    actual: &str,
    actual_bytes: u64,
) -> Result<(), DataError> {
    if actual == file.sha256 && actual_bytes == file.bytes {
        return Ok(());
    }
    Err(DataError::ChecksumMismatch {
        corpus: corpus.name.clone(),
        path: path.to_path_buf(),
        expected: file.sha256.clone(),
        actual: actual.to_string(),
        expected_bytes: file.bytes,
        actual_bytes,
    })
}

/// The SHA-256 of `bytes` as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The SHA-256 of a file, read in chunks, and its size.
pub fn sha256_file(path: &Path) -> Result<(String, u64), DataError> {
    let io = |source| DataError::Io { action: "read", path: path.to_path_buf(), source };
    let mut f = File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex(&hasher.finalize()), total))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
