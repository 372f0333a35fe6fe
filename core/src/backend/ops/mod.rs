//! Layers as plain functions over dfdx tensor ops, generic over the device and the tape.
//!
//! These are the reference (composite) implementations: they run on any `D: Device<E>` (CPU or
//! CUDA). With [`Mode::fusion`] they dispatch to the device's fused kernels
//! ([`crate::backend::Kernels`]), which must agree with them.
//!
//! Tape rules that every function here follows:
//! - only the tensor carrying the tape records ops; a second consumer of a taped tensor gets
//!   `x.retaped::<T>()` (same id, empty tape) so its ops are recorded and the tapes merge later;
//! - ops on parameters that start a branch (embeddings, sliced weights) retape the parameter;
//! - never `slice` a tensor that has another consumer: on CPU slice's backward assigns.

mod attention;
mod basic;
pub mod count;
pub mod draws;
mod loss;
mod rope;

pub use attention::{AttentionParams, attention, attention_core_composite, attention_last, core, masked_softmax};
pub use basic::{
    Activation, activation, add_bias, dense, dense_composite, dense_rows, dropout, embedding, layer_norm, linear,
    matmul_t,
};
pub use loss::cross_entropy;
pub use rope::Rope;

/// Which fused kernels a forward pass uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fusion {
    /// dfdx ops only.
    None,
    /// Fused per-op kernels: masked softmax (+dropout), layer norm, bias+activation(+dropout),
    /// dropout, cross-entropy; attention still from dfdx slices, permutes and batched matmuls.
    Ops,
    /// `Ops` plus the whole attention core (scores, softmax, dropout, values, head merge).
    Attention,
}

/// Per-call switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// Dropout on.
    pub train: bool,
    pub fusion: Fusion,
}

impl Mode {
    pub fn fused_ops(&self) -> bool {
        self.fusion != Fusion::None
    }

    pub fn fused_attention(&self) -> bool {
        self.fusion == Fusion::Attention
    }

    /// The effective dropout probability: `p` in training, 0 otherwise.
    pub fn drop(&self, p: f64) -> f64 {
        if self.train { p } else { 0.0 }
    }
}
