//! The conformance suite every registered layer kind passes, built-in or registered by another
//! crate: it runs each kind's own examples ([`LayerKind::examples`]) and checks
//!
//! - `gradients`: analytic gradients equal central finite differences in f64, at every fusion
//!   level and under every objective the example can train;
//! - `last position`: the `last` objective's pruned forward equals the last row of the full one;
//! - `parameters`: the store holds exactly the declared tensors, by name and shape, and the
//!   forward pass reads every one of them and nothing else;
//! - `flops`: the plan's forward matrix-product FLOPs equal what the executed products do,
//!   counted in the ops ([`ops::count`]), not from the plan's formulas.
//!
//! A kind with no examples, an example that does not check or does not use the kind, or a kind
//! with no forward pass fails too. Failures name the kind, the example and the check.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use dfdx::prelude::*;

use crate::backend::gradcheck::{CheckDevice, GradCheck, check_device};
use crate::backend::{Forwards, Fusion, Mode, Model, ParamStore, ops};
use crate::ir::{self, Checked, Limits, Objective, Op};
use crate::lang::{self, Options};
use crate::layers::{LayerKind, Registry};

/// Windows per batch, tokens per window and vocabulary of every example.
const BATCH: usize = 2;
const CONTEXT: usize = 4;
const VOCAB: u64 = 7;
/// Largest relative gradient error accepted (f64 central differences).
const GRADIENT_TOLERANCE: f64 = 1e-5;
/// Largest difference between the pruned and the full forward's last row (f64).
const FORWARD_TOLERANCE: f64 = 1e-10;

/// One check a kind failed.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub kind: String,
    /// The example's body, or empty when the kind has none.
    pub example: String,
    /// `examples`, `forward`, `gradients`, `last position`, `parameters` or `flops`.
    pub check: &'static str,
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "layer kind `{}` fails the `{}` check", self.kind, self.check)?;
        if !self.example.is_empty() {
            write!(f, " on `{}`", self.example)?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// Runs the suite on every kind of `registry`, with `forwards` for their forward passes.
pub fn check_registry(registry: &Registry, forwards: &Forwards) -> Vec<Failure> {
    registry.kinds().flat_map(|kind| check_kind(kind.as_ref(), registry, forwards)).collect()
}

/// Runs the suite on one kind's examples.
pub fn check_kind(kind: &dyn LayerKind, registry: &Registry, forwards: &Forwards) -> Vec<Failure> {
    let fail = |example: &str, check, detail: String| Failure {
        kind: kind.name().to_string(),
        example: example.to_string(),
        check,
        detail,
    };
    if kind.examples().is_empty() {
        return vec![fail("", "examples", "the kind declares no examples".into())];
    }
    let mut failures = Vec::new();
    for &example in kind.examples() {
        let checked = match compile(example, registry) {
            Ok(c) => Arc::new(c),
            Err(detail) => {
                failures.push(fail(example, "examples", detail));
                continue;
            }
        };
        if !checked.graph.nodes.iter().any(|n| matches!(&n.op, Op::Layer { kind: k, .. } if k.name() == kind.name())) {
            failures.push(fail(example, "examples", "the example does not use the kind".into()));
            continue;
        }
        let checks: [(&'static str, Check); 4] =
            [("parameters", parameters), ("last position", last_position), ("flops", flops), ("gradients", gradients)];
        for (name, check) in checks {
            let outcome = catch_unwind(AssertUnwindSafe(|| check(&checked, forwards)))
                .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(&panic))));
            if let Err(detail) = outcome {
                let check = if detail.starts_with(NO_FORWARD) { "forward" } else { name };
                failures.push(fail(example, check, detail));
            }
        }
    }
    failures
}

type Check = fn(&Arc<Checked>, &Forwards) -> Result<(), String>;

const NO_FORWARD: &str = "no forward pass";

fn compile(example: &str, registry: &Registry) -> Result<Checked, String> {
    let source = format!("model conformance(context = {CONTEXT}) {{ {example} }}");
    let graph = lang::resolve_source("conformance.model", &source, None, registry, &Options::vocab(VOCAB))
        .map_err(|d| d.render())?;
    ir::check(graph, &Limits::default()).map_err(|d| d.render())
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into())
}

fn store(checked: &Checked) -> ParamStore<f64, CheckDevice> {
    ParamStore::from_specs(check_device(0), checked.nodes.iter().flat_map(|n| n.params.iter()), 3)
}

fn model(
    checked: &Arc<Checked>,
    forwards: &Forwards,
    params: ParamStore<f64, CheckDevice>,
) -> Result<Model<f64, CheckDevice>, String> {
    Model::with_params(checked.clone(), forwards, params).map_err(|e| format!("{NO_FORWARD}: {e}"))
}

fn ids() -> Vec<u32> {
    (0..BATCH * CONTEXT).map(|i| (i * 3 % VOCAB as usize) as u32).collect()
}

fn targets(objective: Objective) -> Vec<u32> {
    match objective {
        Objective::Last => (0..BATCH).map(|i| (i * 4 + 1) as u32 % VOCAB as u32).collect(),
        Objective::All => (0..BATCH * CONTEXT).map(|i| (i * 5 % VOCAB as usize) as u32).collect(),
    }
}

fn objectives(checked: &Checked) -> impl Iterator<Item = Objective> + '_ {
    Objective::ALL.into_iter().filter(|&o| checked.fits(o))
}

const FUSIONS: [Fusion; 3] = [Fusion::Attention, Fusion::Ops, Fusion::None];

fn parameters(checked: &Arc<Checked>, forwards: &Forwards) -> Result<(), String> {
    let params = store(checked).tracking_reads();
    for spec in checked.nodes.iter().flat_map(|n| n.params.iter()) {
        let held = params.get(&spec.name).ok_or_else(|| format!("the store has no tensor `{}`", spec.name))?;
        let declared: Vec<usize> = spec.shape.iter().map(|&d| d as usize).collect();
        if held.dims != declared {
            return Err(format!("`{}` is declared {declared:?} but held as {:?}", spec.name, held.dims));
        }
    }
    let model = model(checked, forwards, params)?;
    for objective in objectives(checked) {
        let mode = Mode { train: true, fusion: Fusion::Attention };
        let _ = model.loss::<OwnedTape<f64, CheckDevice>>(&ids(), &targets(objective), BATCH, objective, mode);
    }
    let read = model.params.reads();
    let unread: Vec<&str> = model.params.iter().map(|(n, _)| n).filter(|n| !read.contains(*n)).collect();
    if !unread.is_empty() {
        return Err(format!("the forward pass never reads the declared {unread:?}"));
    }
    Ok(())
}

fn last_position(checked: &Arc<Checked>, forwards: &Forwards) -> Result<(), String> {
    if !checked.fits(Objective::All) {
        return Ok(()); // one prediction per window: `last` is the only forward
    }
    let model = model(checked, forwards, store(checked))?;
    for fusion in FUSIONS {
        let mode = Mode { train: false, fusion };
        let all = model.forward::<OwnedTape<f64, CheckDevice>>(&ids(), BATCH, Objective::All, mode).as_vec(); // [B*T, V]
        let last = model.forward::<OwnedTape<f64, CheckDevice>>(&ids(), BATCH, Objective::Last, mode).as_vec(); // [B, V]
        let v = VOCAB as usize;
        for b in 0..BATCH {
            let full = &all[(b * CONTEXT + CONTEXT - 1) * v..(b * CONTEXT + CONTEXT) * v];
            let pruned = &last[b * v..(b + 1) * v];
            let worst = full.iter().zip(pruned).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            let finite = full.iter().chain(pruned).all(|v| v.is_finite());
            if !finite || worst > FORWARD_TOLERANCE {
                return Err(format!("{fusion:?} fusion: window {b}'s last row differs by {worst:e}"));
            }
        }
    }
    Ok(())
}

fn flops(checked: &Arc<Checked>, forwards: &Forwards) -> Result<(), String> {
    let model = model(checked, forwards, store(checked))?;
    for objective in objectives(checked) {
        let planned = checked.plan(objective).forward.matmul * BATCH as u64;
        for fusion in FUSIONS {
            let mode = Mode { train: true, fusion };
            let (_, executed) = ops::count::matmul_flops(|| {
                model.loss::<OwnedTape<f64, CheckDevice>>(&ids(), &targets(objective), BATCH, objective, mode)
            });
            if executed != planned {
                return Err(format!(
                    "objective `{objective}`, {fusion:?} fusion: the plan counts {planned} matmul FLOPs for \
                     {BATCH} windows, the ops executed {executed}"
                ));
            }
        }
    }
    Ok(())
}

fn gradients(checked: &Arc<Checked>, forwards: &Forwards) -> Result<(), String> {
    let params = store(checked);
    model(checked, forwards, params.clone())?;
    for objective in objectives(checked) {
        for fusion in FUSIONS {
            let mode = Mode { train: true, fusion };
            let loss = |p: &ParamStore<f64, CheckDevice>| {
                let model = Model::with_params(checked.clone(), forwards, p.clone()).expect("checked above");
                model.loss::<OwnedTape<f64, CheckDevice>>(&ids(), &targets(objective), BATCH, objective, mode)
            };
            let reports = GradCheck { seed: 11, ..GradCheck::default() }.run(&params, loss);
            let bad: Vec<String> = reports
                .iter()
                .filter(|r| !(r.rel_error < GRADIENT_TOLERANCE && r.max_elem_error < GRADIENT_TOLERANCE))
                .map(|r| format!("`{}` (relative error {:.1e})", r.name, r.rel_error.max(r.max_elem_error)))
                .collect();
            if !bad.is_empty() {
                return Err(format!(
                    "objective `{objective}`, {fusion:?} fusion: analytic gradients differ from finite \
                     differences for {}",
                    bad.join(", ")
                ));
            }
        }
    }
    Ok(())
}
