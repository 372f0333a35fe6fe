//! Downloading corpus files, verified before they are kept.
//!
//! Each file is streamed over HTTPS into a temporary file in its destination folder while it is
//! hashed; only when size and SHA-256 match the descriptor is it synced and renamed to its final
//! name (a rename within one folder is atomic). A failed, cut or corrupt download removes its
//! temporary file and leaves nothing under the final name, so a file under a final name has
//! always been verified once.
//!
//! The base URL can be replaced (`$TINYARCH_MIRROR`, or the `mirror` argument): the file is
//! then fetched from `<mirror>/<corpus dir>/<file>`, the layout of a data directory, which is
//! how the tests serve the shared corpora from a local server. Plain `http://` is accepted only
//! for `localhost` and `127.0.0.1`.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::descriptor::{Descriptor, FileSpec};
use super::error::DataError;
use super::locate::{hex, sha256_file};

/// Environment variable replacing the descriptors' download URLs by a mirror base URL.
pub const MIRROR_ENV: &str = "TINYARCH_MIRROR";

/// What [`fetch_file`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchOutcome {
    /// A verified copy was already there; nothing was downloaded.
    AlreadyPresent,
    /// The file was downloaded and verified.
    Downloaded,
}

/// One file that is now in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// Its final path.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Whether it was downloaded.
    pub outcome: FetchOutcome,
}

/// The URL `file` is downloaded from: the descriptor's, or `<mirror>/<corpus dir>/<file>`.
/// `None` for a file of a corpus added from local files, which has nowhere to come from.
pub fn file_url(corpus: &Descriptor, file: &FileSpec, mirror: Option<&str>) -> Option<String> {
    match mirror {
        Some(base) => Some(format!("{}/{}/{}", base.trim_end_matches('/'), corpus.dir, file.name)),
        None => file.url.clone(),
    }
}

/// Downloads every file of `corpus` that `dest` (a data directory) lacks or holds corrupt.
pub fn fetch(corpus: &Descriptor, dest: &Path, mirror: Option<&str>) -> Result<Vec<Fetched>, DataError> {
    corpus.files.iter().map(|file| fetch_file(corpus, file, dest, mirror)).collect()
}

/// Makes `<dest>/<corpus dir>/<file>` a verified copy, downloading it if needed. An existing
/// file that does not verify is replaced, but only once the new download has verified.
pub fn fetch_file(
    corpus: &Descriptor,
    file: &FileSpec,
    dest: &Path,
    mirror: Option<&str>,
) -> Result<Fetched, DataError> {
    let dir = dest.join(&corpus.dir);
    let path = dir.join(&file.name);
    if path.is_file() {
        let (hash, bytes) = sha256_file(&path)?;
        if hash == file.sha256 && bytes == file.bytes {
            return Ok(Fetched { path, bytes, outcome: FetchOutcome::AlreadyPresent });
        }
    }
    let url = file_url(corpus, file, mirror).ok_or_else(|| DataError::NoUrl {
        corpus: corpus.name.clone(),
        file: file.name.clone(),
        path: path.clone(),
    })?;
    let agent = agent_for(&url)?;
    std::fs::create_dir_all(&dir).map_err(|source| DataError::Io { action: "create", path: dir.clone(), source })?;
    let temp = TempFile::create(&dir, &file.name)?;
    download_into(&agent, &url, file, &temp)?;
    temp.persist(&path)?;
    Ok(Fetched { path, bytes: file.bytes, outcome: FetchOutcome::Downloaded })
}

/// An agent for `url`: HTTPS only for remote hosts, no proxy for this machine.
fn agent_for(url: &str) -> Result<ureq::Agent, DataError> {
    let local = if url.starts_with("https://") {
        false
    } else if let Some(rest) = url.strip_prefix("http://") {
        let authority = rest.split('/').next().unwrap_or("");
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => authority.split(':').next().unwrap_or(""),
        };
        if !matches!(host, "127.0.0.1" | "localhost" | "::1") {
            return Err(DataError::InsecureUrl { url: url.to_string() });
        }
        true
    } else {
        return Err(DataError::Download {
            url: url.to_string(),
            message: "the URL is not `https://`".into(),
            help: "fix the `url` in the corpus descriptor, or `$TINYARCH_MIRROR`".into(),
        });
    };
    let mut config = ureq::Agent::config_builder()
        // Remote downloads must never be downgraded to plain HTTP by a redirect.
        .https_only(!local)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("tinyarch/", env!("CARGO_PKG_VERSION")));
    if local {
        config = config.proxy(None);
    }
    Ok(config.build().new_agent())
}

/// Streams `url` into `temp` while hashing; errors unless size and hash match `file`.
fn download_into(agent: &ureq::Agent, url: &str, file: &FileSpec, temp: &TempFile) -> Result<(), DataError> {
    let failed = |message: String| DataError::Download {
        url: url.to_string(),
        message,
        help: "check the network connection and try again".into(),
    };
    let response = agent.get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => DataError::Download {
            url: url.to_string(),
            message: format!("the server answered HTTP {code}"),
            help: "check the `url` in the corpus descriptor, or `$TINYARCH_MIRROR` if it is set".into(),
        },
        e => failed(e.to_string()),
    })?;
    // Read at most one byte more than expected: enough to tell an oversized body, never more.
    let mut body = response.into_body().into_with_config().reader().take(file.bytes + 1);
    let mut out = temp.file.as_ref().ok_or_else(|| failed("no temporary file".into()))?;
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(failed(format!("the transfer broke off after {total} bytes: {e}")));
            }
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|source| DataError::Io {
            action: "write",
            path: temp.path.clone(),
            source,
        })?;
        total += n as u64;
    }
    let actual = hex(&hasher.finalize());
    if actual != file.sha256 || total != file.bytes {
        return Err(DataError::DownloadCorrupt {
            url: url.to_string(),
            expected: file.sha256.clone(),
            actual,
            expected_bytes: file.bytes,
            actual_bytes: total,
        });
    }
    out.sync_all().map_err(|source| DataError::Io { action: "write", path: temp.path.clone(), source })?;
    Ok(())
}

/// A temporary file next to the final one, removed when dropped unless persisted.
struct TempFile {
    path: PathBuf,
    file: Option<File>,
}

impl TempFile {
    fn create(dir: &Path, name: &str) -> Result<TempFile, DataError> {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let path = dir.join(format!(".{name}.{}-{nanos}.part", std::process::id()));
        let file = File::options().write(true).create_new(true).open(&path).map_err(|source| DataError::Io {
            action: "create",
            path: path.clone(),
            source,
        })?;
        Ok(TempFile { path, file: Some(file) })
    }

    /// Renames the (verified, synced) file to `dest`.
    fn persist(mut self, dest: &Path) -> Result<(), DataError> {
        self.file.take();
        std::fs::rename(&self.path, dest).map_err(|source| DataError::Io {
            action: "rename into",
            path: dest.to_path_buf(),
            source,
        })?;
        // Renamed: nothing is left to clean up.
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.file.take();
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
