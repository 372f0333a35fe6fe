//! The time from a change of `models/gpt.model`, the largest zoo model, to its published
//! diagnostics and its inlay hints, through the server in process. Run with
//! `cargo bench -p tinyarch-lsp --bench change`.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request};
use serde_json::json;

fn main() {
    let (server, client) = Connection::memory();
    let handle = std::thread::spawn(move || tinyarch_lsp::serve(&server, tinyarch_lang::Registry::default()).unwrap());
    let send = |m: Message| client.sender.send(m).unwrap();
    let wait = |pred: &dyn Fn(&Message) -> bool| loop {
        let m = client.receiver.recv_timeout(Duration::from_secs(10)).unwrap();
        if pred(&m) {
            return m;
        }
    };
    let init = json!({ "capabilities": {}, "initializationOptions": { "vocab": 65 } });
    send(Message::Request(Request::new(tinyarch_lsp::request_id(0), "initialize".into(), init)));
    wait(&|m| matches!(m, Message::Response(_)));
    send(Message::Notification(Notification::new("initialized".into(), json!({}))));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/gpt.model");
    let text = std::fs::read_to_string(&path).unwrap();
    let uri = lsp_types::Uri::from_str(&format!("file://{}", path.display())).unwrap();
    let item = json!({ "uri": uri, "languageId": "tinyarch-model", "version": 1, "text": text });
    send(Message::Notification(Notification::new("textDocument/didOpen".into(), json!({ "textDocument": item }))));
    wait(&|m| matches!(m, Message::Notification(_)));
    let mut times = Vec::new();
    for version in 2..302 {
        let edited = text.replace("layers = 4", if version % 2 == 0 { "layers = 5" } else { "layers = 4" });
        let change =
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": edited }] });
        let start = Instant::now();
        send(Message::Notification(Notification::new("textDocument/didChange".into(), change)));
        wait(&|m| matches!(m, Message::Notification(n) if n.method == "textDocument/publishDiagnostics"));
        let range = json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 1000, "character": 0 } });
        let params = json!({ "textDocument": { "uri": uri }, "range": range });
        send(Message::Request(Request::new(
            tinyarch_lsp::request_id(version),
            "textDocument/inlayHint".into(),
            params,
        )));
        wait(&|m| matches!(m, Message::Response(_)));
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "change to diagnostics and inlay hints, models/gpt.model: median {:.3} ms, p95 {:.3} ms, max {:.3} ms over {} changes",
        times[times.len() / 2],
        times[times.len() * 95 / 100],
        times[times.len() - 1],
        times.len()
    );
    send(Message::Request(Request::new(tinyarch_lsp::request_id(-1), "shutdown".into(), serde_json::Value::Null)));
    wait(&|m| matches!(m, Message::Response(_)));
    send(Message::Notification(Notification::new("exit".into(), serde_json::Value::Null)));
    handle.join().unwrap();
}
