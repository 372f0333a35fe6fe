//! The graph IR and its static check. Nothing here knows about tensors or devices: a graph is
//! a flat list of nodes with layer paths, resolved arguments and symbolic shapes.

mod check;
mod constant;
mod flops;
mod graph;
mod plan;
mod render;
mod shape;

pub use check::{Checked, CheckedNode, DEFAULT_BATCH, Limits, MemoryEstimate, Summary, check};
pub use constant::Constant;
pub use flops::{Convention, FlopInputs, Flops, TrainingFlops};
pub use graph::{Graph, ModelParam, Node, NodeId, Op};
pub use plan::{FlopPlan, Objective, PlannedNode};
pub use render::{CheckReport, Format, LayerRow, Totals, check_report, check_table, render_graph};
pub use shape::{Dim, Elem, Shape};
