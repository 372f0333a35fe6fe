//! The resolved graph: what `lang::resolve` produces and `check` verifies.

use super::{Constant, Dim};
use crate::diag::{SourceMap, Span};
use crate::layers::{Args, LayerKind};
use std::fmt;
use std::sync::Arc;

/// Index of a node in [`Graph::nodes`]; nodes are in execution order.
pub type NodeId = usize;

/// A model with every parameter, repeat and block expanded.
#[derive(Debug)]
pub struct Graph {
    pub name: String,
    /// Where the model's name is written.
    pub name_span: Span,
    /// The model's parameters after defaults and overrides.
    pub params: Vec<ModelParam>,
    pub vocab: Dim,
    pub context: Dim,
    /// Node 0 is the input; the last node is the output.
    pub nodes: Vec<Node>,
    /// Every file the model was read from, for diagnostics and line numbers.
    pub sources: Arc<SourceMap>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelParam {
    pub name: String,
    pub value: Constant,
    /// Set from the command line rather than the file's default.
    pub overridden: bool,
}

#[derive(Debug)]
pub struct Node {
    /// Dotted layer path: `blocks.2.attn`.
    pub path: String,
    pub op: Op,
    pub inputs: Vec<NodeId>,
    /// The call (or `residual`) that made it.
    pub span: Span,
}

pub enum Op {
    /// The token ids, `[context]`.
    Input,
    Layer {
        kind: Arc<dyn LayerKind>,
        args: Args,
    },
    /// A residual join: `inputs[0] + inputs[1]` (body output plus the residual's input).
    Add,
}

impl Op {
    /// `embedding`, `add`, `input`.
    pub fn kind_name(&self) -> &str {
        match self {
            Op::Input => "input",
            Op::Layer { kind, .. } => kind.name(),
            Op::Add => "add",
        }
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Input => f.write_str("Input"),
            Op::Layer { kind, args } => {
                f.debug_struct("Layer").field("kind", &kind.name()).field("args", args).finish()
            }
            Op::Add => f.write_str("Add"),
        }
    }
}
