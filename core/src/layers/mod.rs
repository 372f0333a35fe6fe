//! Layer plugins. Each kind lives in its own file and declares its arguments, its shape rule,
//! its parameters and its forward FLOPs; the registry maps names to kinds. The parser knows no
//! layer names: a program embedding tinyarch can register its own kinds
//! (see `tests/custom_layer.rs`).

mod api;
pub mod reference;
mod registry;

mod activation;
mod attention;
mod dropout;
mod embedding;
mod feed_forward;
mod flatten;
mod head;
mod last;
mod layer_norm;
mod linear;
mod position_embedding;
mod rms_norm;

pub use api::*;
pub use registry::Registry;

/// Registers every built-in kind. Explicit, never link-time magic: a kind that is not listed
/// here does not exist.
pub fn register_builtins(registry: &mut Registry) {
    let kinds: Vec<std::sync::Arc<dyn LayerKind>> = vec![
        std::sync::Arc::new(embedding::Embedding),
        std::sync::Arc::new(position_embedding::PositionEmbedding),
        std::sync::Arc::new(flatten::Flatten),
        std::sync::Arc::new(linear::Linear),
        std::sync::Arc::new(activation::Activation::Relu),
        std::sync::Arc::new(activation::Activation::Gelu),
        std::sync::Arc::new(activation::Activation::Tanh),
        std::sync::Arc::new(activation::Activation::Silu),
        std::sync::Arc::new(dropout::Dropout),
        std::sync::Arc::new(layer_norm::LayerNorm),
        std::sync::Arc::new(rms_norm::RmsNorm),
        std::sync::Arc::new(attention::Attention),
        std::sync::Arc::new(feed_forward::FeedForward),
        std::sync::Arc::new(last::Last),
        std::sync::Arc::new(head::Head),
    ];
    for kind in kinds {
        registry.register_arc(kind).expect("built-in layer names are distinct");
    }
}
