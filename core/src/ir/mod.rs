//! The graph IR and its static check. Nothing here knows about tensors or devices: a graph is
//! a flat list of nodes with layer paths, resolved arguments and symbolic shapes.

mod check;
mod flops;
mod graph;
mod render;
mod shape;
mod value;

pub use check::{Checked, CheckedNode, Limits, MemoryEstimate, Summary, check};
pub use flops::{Convention, FlopInputs, Flops, TrainingFlops};
pub use graph::{Graph, ModelParam, Node, NodeId, Op};
pub use render::{Format, check_table, render_graph};
pub use shape::{Dim, Elem, Shape};
pub use value::Value;
