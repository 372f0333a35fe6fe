//! Layer plugins, the backend's half: each built-in kind's forward pass, in a file named like
//! the kind's file in `tinyarch_lang::layers`, and the registry that finds a configured layer's
//! forward pass by its type.
//!
//! A layer kind is a documented pair: the language crate's file says what the kind is
//! (arguments, shape rule, parameters, FLOPs, examples) and returns a plain configured struct;
//! the file here implements [`Forward`](crate::backend::Forward) for that struct, once, generically over devices.
//! [`register_builtins`] lists the built-ins; the conformance suite fails any registered kind
//! that has no forward pass here.

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

use std::any::{Any, TypeId};
use std::collections::HashMap;

use tinyarch_lang::layers::{self as kinds, Layer};

use crate::backend::Build;

/// A configured layer's forward pass, found by the configured type: a model keeps one per node.
pub type View = fn(&dyn Any) -> Option<&dyn Build>;

/// Configured layer types to their forward passes. [`Forwards::default`] holds the built-ins.
#[derive(Clone)]
pub struct Forwards {
    views: HashMap<TypeId, View>,
}

impl Forwards {
    /// No forward passes at all.
    pub fn empty() -> Forwards {
        Forwards { views: HashMap::new() }
    }

    /// Registers `L`'s forward pass: `L` is the configured layer a kind's `configure` returns,
    /// and implements [`Forward`](crate::backend::Forward) generically (which gives [`Build`]).
    pub fn register<L: Build + Any>(&mut self) {
        self.views.insert(TypeId::of::<L>(), |layer| layer.downcast_ref::<L>().map(|l| l as &dyn Build));
    }

    /// How to reach a configured layer's forward pass, if its type was registered.
    pub fn view(&self, layer: &dyn Layer) -> Option<View> {
        self.views.get(&layer.as_any().type_id()).copied()
    }
}

impl Default for Forwards {
    fn default() -> Forwards {
        let mut forwards = Forwards::empty();
        register_builtins(&mut forwards);
        forwards
    }
}

impl std::fmt::Debug for Forwards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Forwards({} layer types)", self.views.len())
    }
}

/// Registers the forward pass of every built-in kind (see `tinyarch_lang::layers::register_builtins`).
pub fn register_builtins(forwards: &mut Forwards) {
    forwards.register::<kinds::embedding::EmbeddingConfig>();
    forwards.register::<kinds::position_embedding::PositionEmbeddingConfig>();
    forwards.register::<kinds::flatten::FlattenConfig>();
    forwards.register::<kinds::linear::LinearConfig>();
    forwards.register::<kinds::activation::ActivationConfig>();
    forwards.register::<kinds::dropout::DropoutConfig>();
    forwards.register::<kinds::layer_norm::LayerNormConfig>();
    forwards.register::<kinds::rms_norm::RmsNormConfig>();
    forwards.register::<kinds::attention::AttentionConfig>();
    forwards.register::<kinds::feed_forward::FeedForwardConfig>();
    forwards.register::<kinds::last::LastConfig>();
    forwards.register::<kinds::head::HeadConfig>();
}
