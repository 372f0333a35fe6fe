//! Layer plugins, the checker's half. Each kind lives in its own file and declares its
//! arguments, its shape rule, its parameters, its forward FLOPs and its conformance examples;
//! the registry maps names to kinds. The configured layer (`LinearConfig`, ...) is a plain
//! struct that the backend's half of the pair (`tinyarch-core`'s `backend/layers/`, same file
//! name) runs. The parser knows no layer names: a program embedding tinyarch can register its
//! own kinds (see the book's plugin chapter).

mod api;
pub mod reference;
mod registry;

pub mod activation;
pub mod attention;
pub mod dropout;
pub mod embedding;
pub mod feed_forward;
pub mod flatten;
pub mod head;
pub mod last;
pub mod layer_norm;
pub mod linear;
pub mod position_embedding;
pub mod rms_norm;

pub use api::*;
pub use registry::{AlreadyRegistered, Registry};

use std::sync::Arc;

/// Registers every built-in kind. Explicit, never link-time magic: a kind that is not listed
/// here does not exist.
pub fn register_builtins(registry: &mut Registry) {
    let kinds: Vec<Arc<dyn LayerKind>> = vec![
        Arc::new(embedding::Embedding),
        Arc::new(position_embedding::PositionEmbedding),
        Arc::new(flatten::Flatten),
        Arc::new(linear::Linear),
        Arc::new(activation::Activation::Relu),
        Arc::new(activation::Activation::Gelu),
        Arc::new(activation::Activation::Tanh),
        Arc::new(activation::Activation::Silu),
        Arc::new(dropout::Dropout),
        Arc::new(layer_norm::LayerNorm),
        Arc::new(rms_norm::RmsNorm),
        Arc::new(attention::Attention),
        Arc::new(feed_forward::FeedForward),
        Arc::new(last::Last),
        Arc::new(head::Head),
    ];
    for kind in kinds {
        registry.register_arc(kind).expect("built-in layer names are distinct");
    }
}
