//! A program that embeds tinyarch registers its own layer kind, without touching the crates:
//! the checker's half (a `LayerKind` and its configured layer, which need only `tinyarch-lang`)
//! and the backend's half (its forward pass). The model that uses it is checked, passes the
//! conformance suite and trains.

use std::sync::Arc;

use tinyarch::backend::conformance::check_kind;
use tinyarch::backend::{Act, BuildConfig, Cx, Flow, Forward, Forwards, Kernels, Trainer};
use tinyarch::data::Batch;
use tinyarch::dfdx::prelude::{Axis, BroadcastTo, Cpu, Dtype, HasShape, Tape};
use tinyarch::ir::{Flops, Limits, Objective, Shape, check};
use tinyarch::lang::{Options, resolve_source};
use tinyarch::layers::{
    ArgDefault, ArgSpec, ArgType, Args, Env, Init, Layer, LayerError, LayerKind, ParamSpec, Registry, Role, float_width,
};
use tinyarch::train::Trainable;

// ---- The checker's half: what `scale` is. ----

/// A learned per-channel scale: `y = x * g`, `g` is `[d]`, initialised to `init`.
struct Scale;

/// One `scale(...)` call with its sizes known: a plain struct the forward pass reads.
#[derive(Debug)]
struct ScaleConfig {
    output: Shape,
    width: u64,
    init: f64,
}

static ARGS: [ArgSpec; 1] = [ArgSpec::optional("init", ArgType::Float, ArgDefault::Float(1.0), "starting scale")];

impl LayerKind for Scale {
    fn name(&self) -> &'static str {
        "scale"
    }
    fn doc(&self) -> &'static str {
        "learned per-channel scale"
    }
    fn args(&self) -> &'static [ArgSpec] {
        &ARGS
    }
    fn examples(&self) -> &'static [&'static str] {
        &["embedding(dim = 6) scale() head()", "embedding(dim = 6) scale(init = 0.5) head()"]
    }
    fn configure(&self, args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let width = float_width(input, "`[..., d]` activations")?;
        let init = args.positive("init")?;
        Ok(Box::new(ScaleConfig { output: input.clone(), width: width.size, init }))
    }
}

impl Layer for ScaleConfig {
    fn output(&self) -> Shape {
        self.output.clone()
    }
    fn parameters(&self) -> Vec<ParamSpec> {
        let init = if self.init == 1.0 { Init::Ones } else { Init::Uniform { bound: self.init } };
        vec![ParamSpec::new("gain", vec![self.width], Role::NormScale, init)]
    }
    fn flops(&self, rows: u64) -> Flops {
        Flops::elementwise(rows * self.width)
    }
    fn position_wise(&self) -> bool {
        true
    }
}

// ---- The backend's half: how `scale` runs, once for every device and tape. ----

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for ScaleConfig {
    fn forward(&self, x: Flow<E, D, T>, cx: &Cx<E, D>) -> Flow<E, D, T> {
        let a = x.hidden(); // [N, C]
        let shape = *a.x.shape();
        let gain = cx.vector("gain").broadcast_like::<_, Axis<0>>(&shape); // [N, C]
        Flow::Hidden(Act { x: a.x * gain, ..a })
    }
}

// ---- Registering both halves. ----

fn registry() -> Registry {
    let mut registry = Registry::default(); // the built-in kinds
    registry.register(Scale).unwrap(); // fails if the name is taken
    registry
}

fn forwards() -> Forwards {
    let mut forwards = Forwards::default(); // the built-in forward passes
    forwards.register::<ScaleConfig>();
    forwards
}

const MODEL: &str = "
model scaled(context = 16, d = 32) {
    embedding(dim = d)
    gain: scale(init = 1.0)
    head()
}";

#[test]
fn a_registered_kind_is_checked_like_a_builtin() {
    let graph = resolve_source("scaled.model", MODEL, None, &registry(), &Options::vocab(50)).unwrap();
    let checked = check(graph, &Limits::default()).unwrap();
    let node = checked.graph.nodes.iter().position(|n| n.path == "gain").unwrap();
    assert_eq!(checked.nodes[node].params[0].name, "gain.gain");
    assert_eq!(checked.summary.params, 50 * 32 + 32 + (32 * 50 + 50));
    assert_eq!(checked.plan(Objective::All).forward.elementwise, 16 * 32 + 16 * 50);
    // Under `last` only the last position is scaled and projected.
    assert_eq!(checked.plan(Objective::Last).forward.elementwise, 32 + 50);
}

#[test]
fn it_passes_the_conformance_suite() {
    let failures = check_kind(&Scale, &registry(), &forwards());
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn it_trains() {
    let graph = resolve_source("scaled.model", MODEL, None, &registry(), &Options::vocab(50)).unwrap();
    let checked = Arc::new(check(graph, &Limits::default()).unwrap());
    let config = BuildConfig { forwards: Arc::new(forwards()), ..BuildConfig::cpu(1) };
    let mut trainer = Trainer::new(checked, Cpu::default(), &config, "cpu".into()).unwrap();
    // A fixed batch to memorise: the loss must fall.
    let ids: Vec<u32> = (0..4 * 16).map(|i| (i * 7 % 50) as u32).collect();
    let batch = Batch {
        batch: 4,
        context: 16,
        targets: ids.iter().map(|t| (t + 1) % 50).collect(),
        ids,
        objective: Objective::All,
    };
    let first = trainer.train_step(&batch, 1e-2);
    let last = (0..30).map(|_| trainer.train_step(&batch, 1e-2)).last().unwrap();
    assert!(last < first - 0.5, "loss {first} -> {last}");
}

#[test]
fn without_its_forward_pass_it_cannot_be_built() {
    let graph = resolve_source("scaled.model", MODEL, None, &registry(), &Options::vocab(50)).unwrap();
    let checked = Arc::new(check(graph, &Limits::default()).unwrap());
    let err = Trainer::new(checked, Cpu::default(), &BuildConfig::cpu(1), "cpu".into()).err().unwrap();
    assert_eq!(err.to_string(), "the layer `gain` is a `scale`, which has no forward pass registered");
    let failures = check_kind(&Scale, &registry(), &Forwards::default());
    assert!(failures.iter().all(|f| f.check == "forward"), "{failures:#?}");
}

#[test]
fn the_built_in_registry_does_not_know_it() {
    let err = resolve_source("scaled.model", MODEL, None, &Registry::default(), &Options::vocab(50)).unwrap_err();
    assert_eq!(err.codes(), vec![tinyarch::diag::Code::UnknownLayer]);
}

#[test]
fn registering_a_name_twice_is_an_error() {
    let mut registry = registry();
    assert!(registry.register(Scale).is_err());
}
