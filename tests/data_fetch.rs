//! Downloads end to end against a local HTTP server that serves the shared corpora: a good
//! download, a corrupted response, and a connection cut mid-file. A failed download must leave
//! neither a file under the final name nor a temporary file behind.

mod common;
use common::{TempDir, data_dir};

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tinyarch::data::{self, DataError, FetchOutcome, sha256_file};

/// How the server mangles its responses.
#[derive(Clone, Copy)]
enum Mode {
    Good,
    /// Flip one bit in the middle of the body.
    FlipByte,
    /// Announce the full length, send half, close.
    CutMidway,
}

/// A one-thread HTTP/1.1 server on 127.0.0.1 serving `root`. It answers at most `max_requests`
/// requests and gives up after 20 s, so it always stops by itself.
struct Server {
    base: String,
    thread: JoinHandle<usize>,
}

impl Server {
    fn start(root: PathBuf, mode: Mode, max_requests: usize) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut served = 0;
            while served < max_requests && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        served += 1;
                        let _ = respond(stream, &root, mode);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => break,
                }
            }
            served
        });
        Server { base, thread }
    }

    /// Waits for the server to stop; returns how many requests it answered.
    fn requests(self) -> usize {
        self.thread.join().unwrap()
    }
}

fn respond(stream: TcpStream, root: &Path, mode: Mode) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let mut stream = stream;
    // Only plain relative paths under `root`.
    let rel = path.trim_start_matches('/');
    let body = if rel.split('/').any(|c| c == ".." || c.is_empty()) { None } else { fs::read(root.join(rel)).ok() };
    let Some(mut body) = body else {
        stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    };
    let header = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(header.as_bytes())?;
    match mode {
        Mode::Good => stream.write_all(&body)?,
        Mode::FlipByte => {
            let middle = body.len() / 2;
            body[middle] ^= 0x20;
            stream.write_all(&body)?;
        }
        Mode::CutMidway => {
            stream.write_all(&body[..body.len() / 2])?;
            stream.flush()?;
            stream.shutdown(std::net::Shutdown::Both)?;
        }
    }
    stream.flush()
}

#[test]
fn a_good_download_is_verified_and_kept_under_its_final_name() {
    let d = data::builtin("tiny-shakespeare").unwrap();
    let dest = TempDir::new("good");
    let server = Server::start(data_dir(), Mode::Good, 1);
    let fetched = data::fetch(&d, &dest.0, Some(&server.base)).unwrap();
    assert_eq!(server.requests(), 1);

    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].outcome, FetchOutcome::Downloaded);
    let path = dest.0.join("tiny-shakespeare/input.txt");
    assert_eq!(fetched[0].path, path);
    assert_eq!(sha256_file(&path).unwrap(), (d.files[0].sha256.clone(), 1_115_394));
    assert_eq!(dest.files(), ["tiny-shakespeare/input.txt"]);

    // The fetched copy is usable as a data directory, and a second fetch downloads nothing
    // (no server is listening any more).
    let ds = data::load("tiny-shakespeare", &data::Locator::new([dest.0.clone()]), None, None).unwrap();
    assert_eq!(ds.train.len(), 892_117);
    let again = data::fetch(&d, &dest.0, Some("http://127.0.0.1:9")).unwrap();
    assert_eq!(again[0].outcome, FetchOutcome::AlreadyPresent);
}

#[test]
fn a_corrupted_download_is_an_error_and_leaves_nothing() {
    let d = data::builtin("tiny-shakespeare").unwrap();
    let dest = TempDir::new("flipped");
    let server = Server::start(data_dir(), Mode::FlipByte, 1);
    let err = data::fetch(&d, &dest.0, Some(&server.base)).unwrap_err();
    assert_eq!(server.requests(), 1);
    let msg = err.to_string();
    let DataError::DownloadCorrupt { expected, actual_bytes, .. } = &err else {
        panic!("expected a corrupt download, got {msg}");
    };
    assert_eq!(expected, &d.files[0].sha256);
    assert_eq!(*actual_bytes, 1_115_394);
    assert!(msg.contains("/tiny-shakespeare/input.txt"), "{msg}");
    assert!(dest.files().is_empty(), "left behind: {:?}", dest.files());
}

#[test]
fn a_connection_cut_mid_file_is_an_error_and_leaves_nothing() {
    let d = data::builtin("ptb").unwrap();
    let dest = TempDir::new("cut");
    let server = Server::start(data_dir(), Mode::CutMidway, 1);
    let err = data::fetch(&d, &dest.0, Some(&server.base)).unwrap_err();
    assert_eq!(server.requests(), 1);
    let msg = err.to_string();
    assert!(matches!(err, DataError::Download { .. }), "{msg}");
    assert!(msg.contains("ptb/ptb.train.txt"), "{msg}");
    assert!(msg.contains("the transfer broke off after"), "{msg}");
    assert!(dest.files().is_empty(), "left behind: {:?}", dest.files());
}

#[test]
fn a_corrupt_existing_file_is_replaced_only_by_a_verified_download() {
    let d = data::builtin("tiny-shakespeare").unwrap();
    let dest = TempDir::new("replace");
    let path = dest.0.join("tiny-shakespeare/input.txt");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, "not shakespeare").unwrap();

    let server = Server::start(data_dir(), Mode::FlipByte, 1);
    assert!(data::fetch(&d, &dest.0, Some(&server.base)).is_err());
    server.requests();
    assert_eq!(fs::read(&path).unwrap(), b"not shakespeare");
    assert_eq!(dest.files(), ["tiny-shakespeare/input.txt"]);

    let server = Server::start(data_dir(), Mode::Good, 1);
    let fetched = data::fetch(&d, &dest.0, Some(&server.base)).unwrap();
    server.requests();
    assert_eq!(fetched[0].outcome, FetchOutcome::Downloaded);
    assert_eq!(sha256_file(&path).unwrap().0, d.files[0].sha256);
}

#[test]
fn a_missing_file_on_the_server_is_an_error() {
    let d = data::builtin("wikitext-2").unwrap();
    let dest = TempDir::new("404");
    let empty = TempDir::new("404-root");
    let server = Server::start(empty.0.clone(), Mode::Good, 1);
    let msg = data::fetch(&d, &dest.0, Some(&server.base)).unwrap_err().to_string();
    server.requests();
    assert!(msg.contains("the server answered HTTP 404"), "{msg}");
    assert!(dest.files().is_empty(), "left behind: {:?}", dest.files());
}

#[test]
fn plain_http_is_refused_for_remote_hosts() {
    let d = data::builtin("ptb").unwrap();
    let dest = TempDir::new("insecure");
    let err = data::fetch(&d, &dest.0, Some("http://example.com/corpora")).unwrap_err();
    assert!(matches!(err, DataError::InsecureUrl { .. }), "{err}");
    assert!(dest.files().is_empty());
    // The descriptors' own URLs are all HTTPS.
    for name in ["tiny-shakespeare", "ptb", "wikitext-2"] {
        for file in &data::builtin(name).unwrap().files {
            assert!(file.url.as_deref().is_some_and(|u| u.starts_with("https://")), "{:?}", file.url);
        }
    }
    assert_eq!(
        data::file_url(&d, &d.files[0], Some("http://127.0.0.1:8000/")).as_deref(),
        Some("http://127.0.0.1:8000/ptb/ptb.train.txt")
    );
}
