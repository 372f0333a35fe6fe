//! tinyarch's language server for `.model` files, over the Language Server Protocol.
//!
//! On every change the server parses, resolves and checks the document with `tinyarch-lang`
//! (no tensor library), then answers from that analysis:
//!
//! - diagnostics with the command line's codes, spans, secondary labels, notes and help;
//! - inlay hints: each layer's output shape, symbolic and numeric, and on the model's name its
//!   parameters and training FLOPs per sample under the objective in use;
//! - hover on a layer: its row of the `check` table and the kind's documentation and arguments;
//!   on a model parameter: its value, and whether an override set it;
//! - completion of layer kinds, blocks and argument names; definitions of blocks and `use`
//!   paths; formatting through `tinyarch fmt`.
//!
//! A model file does not know its vocabulary. The server reads it, with the objective and any
//! overrides, from the nearest `tinyarch.ron` in the document's folder or above it (see
//! [`Project`]), or from the client's initialization options; without one it says so on the
//! model's name and shows no shapes rather than wrong ones.

mod analysis;
mod project;
mod text;

pub use analysis::Analysis;
pub use project::Project;

use std::collections::HashMap;
use std::error::Error;

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    Completion, Formatting, GotoDefinition, HoverRequest, InlayHintRequest, Request as _, Shutdown,
};
use lsp_types::{
    CompletionOptions, HoverProviderCapability, InitializeParams, OneOf, PublishDiagnosticsParams, ServerCapabilities,
    TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};
use tinyarch_lang::Registry;

/// What the server offers.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["(".into(), ",".into()]),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        inlay_hint_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

/// Serves on standard input and output until the client shuts the server down.
pub fn serve_stdio(registry: Registry) -> Result<(), Box<dyn Error + Send + Sync>> {
    let (connection, io) = Connection::stdio();
    serve(&connection, registry)?;
    // The writer thread ends when the last sender goes.
    drop(connection);
    io.join()?;
    Ok(())
}

/// Serves on `connection`: the initialize handshake, then messages until shutdown.
pub fn serve(connection: &Connection, registry: Registry) -> Result<(), Box<dyn Error + Send + Sync>> {
    let params = connection.initialize(serde_json::to_value(capabilities())?)?;
    let params: InitializeParams = serde_json::from_value(params)?;
    let fallback = params.initialization_options.and_then(|o| serde_json::from_value::<Project>(o).ok());
    let mut server = Server { registry, fallback: fallback.unwrap_or_default(), documents: HashMap::new() };
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    return Ok(());
                }
                let response = server.request(request);
                connection.sender.send(Message::Response(response))?;
            }
            Message::Notification(notification) => {
                if let Some(publish) = server.notification(notification) {
                    connection.sender.send(Message::Notification(publish))?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

/// Open documents and how to analyse them.
pub struct Server {
    registry: Registry,
    /// Settings from the client, for documents with no `tinyarch.ron` above them.
    fallback: Project,
    documents: HashMap<Uri, Analysis>,
}

impl Server {
    fn notification(&mut self, n: Notification) -> Option<Notification> {
        let (uri, version, text) = match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let p: lsp_types::DidOpenTextDocumentParams = serde_json::from_value(n.params).ok()?;
                (p.text_document.uri, p.text_document.version, p.text_document.text)
            }
            DidChangeTextDocument::METHOD => {
                let p: lsp_types::DidChangeTextDocumentParams = serde_json::from_value(n.params).ok()?;
                let text = p.content_changes.into_iter().last()?.text;
                (p.text_document.uri, p.text_document.version, text)
            }
            DidCloseTextDocument::METHOD => {
                let p: lsp_types::DidCloseTextDocumentParams = serde_json::from_value(n.params).ok()?;
                self.documents.remove(&p.text_document.uri);
                let cleared = PublishDiagnosticsParams::new(p.text_document.uri, Vec::new(), None);
                return Some(Notification::new(PublishDiagnostics::METHOD.into(), cleared));
            }
            _ => return None,
        };
        let analysis = Analysis::new(&uri, text, &self.registry, &self.fallback);
        let diagnostics = analysis.diagnostics.clone();
        self.documents.insert(uri.clone(), analysis);
        let publish = PublishDiagnosticsParams::new(uri, diagnostics, Some(version));
        Some(Notification::new(PublishDiagnostics::METHOD.into(), publish))
    }

    fn request(&mut self, r: Request) -> Response {
        let id = r.id.clone();
        let result = match r.method.as_str() {
            HoverRequest::METHOD => self
                .answer(r, |a, p: lsp_types::HoverParams, reg| a.hover(p.text_document_position_params.position, reg)),
            InlayHintRequest::METHOD => {
                self.answer(r, |a, p: lsp_types::InlayHintParams, _| Some(a.inlay_hints(p.range)))
            }
            Completion::METHOD => self.answer(r, |a, p: lsp_types::CompletionParams, reg| {
                Some(a.completions(p.text_document_position.position, reg))
            }),
            GotoDefinition::METHOD => self.answer(r, |a, p: lsp_types::GotoDefinitionParams, _| {
                a.definition(p.text_document_position_params.position)
            }),
            Formatting::METHOD => self.answer(r, |a, _: lsp_types::DocumentFormattingParams, _| a.formatting()),
            Shutdown::METHOD => Ok(serde_json::Value::Null),
            _ => return Response::new_err(id, -32601, format!("`{}` is not supported", r.method)),
        };
        match result {
            Ok(value) => Response { id, response_result: Ok(value) },
            Err(message) => Response::new_err(id, -32602, message),
        }
    }

    /// Runs `f` on the analysis of the request's document.
    fn answer<P, R>(
        &self,
        r: Request,
        f: impl FnOnce(&Analysis, P, &Registry) -> Option<R>,
    ) -> Result<serde_json::Value, String>
    where
        P: serde::de::DeserializeOwned + HasDocument,
        R: serde::Serialize,
    {
        let params: P = serde_json::from_value(r.params).map_err(|e| e.to_string())?;
        let Some(analysis) = self.documents.get(params.document()) else {
            return Ok(serde_json::Value::Null);
        };
        serde_json::to_value(f(analysis, params, &self.registry)).map_err(|e| e.to_string())
    }
}

/// The document a request is about.
trait HasDocument {
    fn document(&self) -> &Uri;
}

macro_rules! has_document {
    ($($t:ty => |$p:ident| $e:expr),* $(,)?) => {
        $(impl HasDocument for $t {
            fn document(&self) -> &Uri {
                let $p = self;
                &$e
            }
        })*
    };
}

has_document! {
    lsp_types::HoverParams => |p| p.text_document_position_params.text_document.uri,
    lsp_types::InlayHintParams => |p| p.text_document.uri,
    lsp_types::CompletionParams => |p| p.text_document_position.text_document.uri,
    lsp_types::GotoDefinitionParams => |p| p.text_document_position_params.text_document.uri,
    lsp_types::DocumentFormattingParams => |p| p.text_document.uri,
}

/// A request id for tests and benchmarks that drive the server in process.
pub fn request_id(n: i32) -> RequestId {
    RequestId::from(n)
}
