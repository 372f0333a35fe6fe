//! A program that embeds tinyarch registers its own layer kind, without touching the crate,
//! and checks a model that uses it.

use tinyarch::backend::{Act, Cx, Forward, Kernels, Value};
use tinyarch::dfdx::prelude::{Axis, BroadcastTo, Dtype, HasShape, Tape};
use tinyarch::ir::{Flops, Limits, Shape, check};
use tinyarch::lang::{Options, resolve_source};
use tinyarch::layers::{
    ArgDefault, ArgSpec, ArgType, Args, Env, Init, Layer, LayerError, LayerKind, ParamSpec, Registry, Role, float_width,
};

/// A learned per-channel scale: y = x * g, g = `[d]` initialised to `init`.
struct Scale;

#[derive(Debug)]
struct ConfiguredScale {
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
    fn configure(&self, args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        let width = float_width(input, "`[..., d]` activations")?;
        let init = args.float("init")?;
        Ok(Box::new(ConfiguredScale { output: input.clone(), width: width.size, init }))
    }
}

impl Layer for ConfiguredScale {
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

/// The forward pass, once for every device and tape: `x * gain` over rows.
impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for ConfiguredScale {
    fn forward(&self, x: Value<E, D, T>, cx: &Cx<E, D>) -> Value<E, D, T> {
        let a = x.hidden(); // [N, C]
        let shape = *a.x.shape();
        let gain = cx.vector("gain").broadcast_like::<_, Axis<0>>(&shape); // [N, C]
        Value::Hidden(Act { x: a.x * gain, ..a })
    }
}

const MODEL: &str = "
model scaled(context = 16, d = 32) {
    embedding(dim = d)
    gain: scale(init = 1.0)
    head()
}";

#[test]
fn a_registered_kind_is_checked_like_a_builtin() {
    let mut registry = Registry::default();
    registry.register(Scale).unwrap();
    let graph = resolve_source("scaled.model", MODEL, None, &registry, &Options::vocab(50)).unwrap();
    let checked = check(graph, &Limits::default()).unwrap();
    let node = checked.graph.nodes.iter().position(|n| n.path == "gain").unwrap();
    assert_eq!(checked.nodes[node].params[0].name, "gain.gain");
    assert_eq!(checked.summary.params, 50 * 32 + 32 + (32 * 50 + 50));
    assert_eq!(checked.summary.forward.elementwise, 16 * 32 + 16 * 50);
}

#[test]
fn the_built_in_registry_does_not_know_it() {
    let err = resolve_source("scaled.model", MODEL, None, &Registry::default(), &Options::vocab(50)).unwrap_err();
    assert_eq!(err.codes(), vec![tinyarch::diag::Code::UnknownLayer]);
}

#[test]
fn registering_a_name_twice_is_an_error() {
    let mut registry = Registry::default();
    registry.register(Scale).unwrap();
    assert!(registry.register(Scale).is_err());
}
