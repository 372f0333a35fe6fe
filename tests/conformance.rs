//! The conformance suite over every registered layer kind (see `backend::conformance`), and a
//! kind with a deliberately wrong backward pass that the suite must catch.

use tinyarch::backend::conformance::{check_kind, check_registry};
use tinyarch::backend::{Act, Cx, Flow, Forward, Forwards, Kernels};
use tinyarch::dfdx::prelude::{Dtype, PutTape, SplitTape, Tape};
use tinyarch::ir::{Flops, Shape};
use tinyarch::layers::{ArgSpec, Args, Env, Layer, LayerError, LayerKind, Registry, float_width};

#[test]
fn every_built_in_kind_conforms() {
    let registry = Registry::default();
    let failures = check_registry(&registry, &Forwards::default());
    let report: Vec<String> = failures.iter().map(ToString::to_string).collect();
    assert!(failures.is_empty(), "{}", report.join("\n"));
    assert_eq!(registry.kinds().count(), 15, "a kind was added: the suite covers it with its examples");
}

/// `y = 2x`, whose backward passes the gradient through unscaled: the forward is right, the
/// gradient is half what it should be.
struct BrokenDouble;

#[derive(Debug)]
struct BrokenDoubleConfig {
    output: Shape,
}

impl LayerKind for BrokenDouble {
    fn name(&self) -> &'static str {
        "broken_double"
    }
    fn doc(&self) -> &'static str {
        "doubles its input, with a wrong gradient"
    }
    fn args(&self) -> &'static [ArgSpec] {
        &[]
    }
    fn examples(&self) -> &'static [&'static str] {
        &["embedding(dim = 4) broken_double() head()"]
    }
    fn configure(&self, _args: &Args, input: &Shape, _env: &Env) -> Result<Box<dyn Layer>, LayerError> {
        float_width(input, "activations")?;
        Ok(Box::new(BrokenDoubleConfig { output: input.clone() }))
    }
}

impl Layer for BrokenDoubleConfig {
    fn output(&self) -> Shape {
        self.output.clone()
    }
    fn flops(&self, rows: u64) -> Flops {
        Flops::elementwise(rows * self.output.width().map_or(1, |d| d.size))
    }
    fn position_wise(&self) -> bool {
        true
    }
}

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Forward<E, D, T> for BrokenDoubleConfig {
    fn forward(&self, x: Flow<E, D, T>, _cx: &Cx<E, D>) -> Flow<E, D, T> {
        let a = x.hidden();
        // The doubling runs off the tape; the tape goes on as if `y = x`.
        let (x, tape) = a.x.split_tape();
        let doubled = x.clone() + x;
        Flow::Hidden(Act { x: doubled.put_tape(tape), ..a })
    }
}

#[test]
fn a_kind_with_a_wrong_backward_fails_and_is_named() {
    let mut registry = Registry::default();
    registry.register(BrokenDouble).unwrap();
    let mut forwards = Forwards::default();
    forwards.register::<BrokenDoubleConfig>();
    let failures = check_kind(&BrokenDouble, &registry, &forwards);
    assert!(!failures.is_empty());
    assert!(failures.iter().all(|f| f.kind == "broken_double" && f.check == "gradients"), "{failures:#?}");
    let message = failures[0].to_string();
    assert!(
        message.starts_with(
            "layer kind `broken_double` fails the `gradients` check on `embedding(dim = 4) broken_double() head()`"
        ),
        "{message}"
    );
    assert!(message.contains("embedding.weight"), "{message}");
    // The whole-registry run reports it among the built-ins, which pass.
    let all = check_registry(&registry, &forwards);
    assert!(all.iter().all(|f| f.kind == "broken_double"), "{all:#?}");
}

#[test]
fn a_kind_without_examples_fails() {
    struct Bare;
    impl LayerKind for Bare {
        fn name(&self) -> &'static str {
            "bare"
        }
        fn doc(&self) -> &'static str {
            "no examples"
        }
        fn args(&self) -> &'static [ArgSpec] {
            &[]
        }
        fn examples(&self) -> &'static [&'static str] {
            &[]
        }
        fn configure(&self, _: &Args, input: &Shape, _: &Env) -> Result<Box<dyn Layer>, LayerError> {
            Ok(Box::new(BrokenDoubleConfig { output: input.clone() }))
        }
    }
    let failures = check_kind(&Bare, &Registry::default(), &Forwards::default());
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].to_string(), "layer kind `bare` fails the `examples` check: the kind declares no examples");
}

/// Residual joins are the executor's, not a kind's: their gradients, an empty body included.
#[test]
fn residual_joins_have_exact_gradients() {
    use std::sync::Arc;
    use tinyarch::backend::gradcheck::{CheckDevice, GradCheck, check_device};
    use tinyarch::backend::{Fusion, Mode, Model, ParamStore};
    use tinyarch::dfdx::prelude::OwnedTape;
    use tinyarch::ir::Objective;
    use tinyarch::{Options, check_source};

    let cases = [
        ("residual { layer_norm() linear(out = 8) } residual { } head()", Objective::All),
        ("residual { attention(heads = 2) } residual { linear(out = 8) } head()", Objective::Last),
    ];
    for (body, objective) in cases {
        let source = format!("model m(context = 4) {{ embedding(dim = 8) {body} }}");
        let checked = Arc::new(check_source("m.model", &source, &Options::vocab(7)).unwrap());
        let ids: Vec<u32> = (0..8).map(|i| (i * 3 % 7) as u32).collect();
        let targets: Vec<u32> = match objective {
            Objective::Last => vec![1, 5],
            Objective::All => (0..8).map(|i| (i * 5 % 7) as u32).collect(),
        };
        let forwards = Forwards::default();
        for fusion in [Fusion::Attention, Fusion::Ops, Fusion::None] {
            let specs = checked.nodes.iter().flat_map(|n| n.params.iter());
            let params: ParamStore<f64, CheckDevice> = ParamStore::from_specs(check_device(0), specs, 3);
            let loss = |p: &ParamStore<f64, CheckDevice>| {
                let model = Model::with_params(checked.clone(), &forwards, p.clone()).unwrap();
                model.loss::<OwnedTape<f64, CheckDevice>>(&ids, &targets, 2, objective, Mode { train: true, fusion })
            };
            GradCheck { seed: 11, ..GradCheck::default() }.assert(&params, 1e-5, loss);
        }
    }
}
