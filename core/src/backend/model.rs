//! A checked graph built on a device: the executor that runs its nodes in order, and the
//! [`Trainable`] implementation the runner drives.
//!
//! The executor runs the checked model's [`FlopPlan`](crate::ir::FlopPlan) for the objective
//! and has no rule of its own: a node the plan marks `last_only` computes only the last
//! position of each window, so what runs is what the budget is charged for.

use std::sync::Arc;

use dfdx::prelude::*;

use crate::backend::forward::{RopeCache, select_last};
use crate::backend::layers::View;
use crate::backend::optim::OptimError;
use crate::backend::{
    Act, Adam, Cx, Flow, Forwards, Fusion, Kernels, Mode, On, ParamStore, Select, Tensor1, Tensor2, Tokens, ops,
};
use crate::data::{Batch, Objective};
use crate::ir::{Checked, Op, TrainingFlops};
use crate::train::{OptimizerConfig, OptimizerState, Trainable, Weights};

/// A model's parameters on a device, with the graph that uses them.
pub struct Model<E: Dtype, D: Kernels<E>> {
    pub checked: Arc<Checked>,
    pub params: ParamStore<E, D>,
    /// Parallel to the graph's nodes: each layer's forward pass (`None` for the input and joins).
    views: Vec<Option<View>>,
    ropes: RopeCache<E, D>,
}

impl<E: Dtype, D: Kernels<E>> Model<E, D> {
    /// Parameters initialised from `seed` as the checker declared them.
    pub fn new(checked: Arc<Checked>, forwards: &Forwards, dev: D, seed: u64) -> Result<Self, BuildError> {
        let specs = checked.nodes.iter().flat_map(|n| n.params.iter());
        let params = ParamStore::from_specs(dev, specs, seed);
        Model::with_params(checked, forwards, params)
    }

    /// A model over given parameters (gradient checks probe copies of them).
    pub fn with_params(
        checked: Arc<Checked>,
        forwards: &Forwards,
        params: ParamStore<E, D>,
    ) -> Result<Self, BuildError> {
        let views = checked
            .graph
            .nodes
            .iter()
            .zip(&checked.nodes)
            .map(|(node, c)| match &c.layer {
                None => Ok(None),
                Some(layer) => forwards.view(layer.as_ref()).map(Some).ok_or_else(|| BuildError::NoForward {
                    kind: node.op.kind_name().to_string(),
                    path: node.path.clone(),
                }),
            })
            .collect::<Result<_, _>>()?;
        Ok(Model { checked, params, views, ropes: RopeCache::default() })
    }

    /// Logits for `ids` (`[batch, positions]`, row-major): `[batch * positions, V]` under
    /// `All`, `[batch, V]` under `Last` or for a model that predicts one token per window.
    pub fn forward<T: Tape<E, D>>(
        &self,
        ids: &[u32],
        batch: usize,
        objective: Objective,
        mode: Mode,
    ) -> Tensor2<E, D, T>
    where
        On: Select<E, D, T>,
    {
        let graph = &self.checked.graph;
        let plan = self.checked.plan(objective);
        let positions = ids.len() / batch;
        let mut uses: Vec<usize> = plan.nodes.iter().map(|p| p.readers).collect();
        let mut values: Vec<Option<Flow<E, D, T>>> = (0..graph.nodes.len()).map(|_| None).collect();
        let context = graph.context.size as usize;
        for (i, node) in graph.nodes.iter().enumerate() {
            let last_only = plan.nodes[i].last_only;
            let value = match &node.op {
                Op::Input => Flow::Tokens(self.tokens(ids, batch, positions, last_only)),
                Op::Layer { .. } => {
                    let layer = self.checked.nodes[i].layer.as_deref().expect("a layer node has a configured layer");
                    let view = self.views[i].expect("a layer node has a forward pass");
                    let build = view(layer.as_any()).expect("the view was found for this layer's type");
                    let wants_last = last_only && layer.position_wise();
                    let x = rows(take(&mut values, &mut uses, node.inputs[0]), wants_last);
                    let cx =
                        Cx { params: &self.params, path: &node.path, mode, last_only, context, ropes: &self.ropes };
                    On::select(build).forward(x, &cx)
                }
                Op::Add => {
                    let (body_node, skip_node) = (node.inputs[0], node.inputs[1]);
                    let body = rows(take(&mut values, &mut uses, body_node), last_only).hidden();
                    let skip = rows(take(&mut values, &mut uses, skip_node), last_only).hidden();
                    if body_node == skip_node {
                        // An empty residual body reads one value twice: `x + x` on one id would
                        // panic in backward, so double the copy that carries the tape.
                        Flow::Hidden(Act { x: skip.x * E::from_f64(2.0).unwrap(), ..skip })
                    } else if plan.nodes[i].readers == 1 {
                        // One reader: it may fold the addition into its own kernel.
                        Flow::Sum { body, skip }
                    } else {
                        Flow::Hidden(Flow::Sum { body, skip }.hidden())
                    }
                }
            };
            values[i] = Some(value);
        }
        let out = values.pop().flatten().expect("the output node ran");
        out.hidden().x
    }

    /// `[batch * positions]` ids, or only each window's last when nothing else is read.
    fn tokens(&self, ids: &[u32], batch: usize, positions: usize, last_only: bool) -> Tokens<D>
    where
        D: Storage<usize>,
    {
        let dev = self.params.device();
        if last_only {
            let last: Vec<usize> = ids.chunks(positions).map(|w| w[positions - 1] as usize).collect();
            Tokens { ids: dev.tensor_from_vec(last, (batch,)), batch, positions: 1, first: positions - 1 }
        } else {
            let all: Vec<usize> = ids.iter().map(|&t| t as usize).collect();
            Tokens { ids: dev.tensor_from_vec(all, (batch * positions,)), batch, positions, first: 0 }
        }
    }

    /// Mean cross-entropy of `targets` (`[batch]` under `Last`, `[batch * positions]` under
    /// `All`).
    pub fn loss<T: Tape<E, D>>(
        &self,
        ids: &[u32],
        targets: &[u32],
        batch: usize,
        objective: Objective,
        mode: Mode,
    ) -> Tensor<Rank0, E, D, T>
    where
        On: Select<E, D, T>,
    {
        let logits = self.forward::<T>(ids, batch, objective, mode);
        let targets: Tensor1<usize, D> =
            self.params.device().tensor_from_vec(targets.iter().map(|&t| t as usize).collect(), (targets.len(),));
        if mode.fused_ops() {
            D::cross_entropy(logits, &targets)
        } else {
            crate::backend::ops::cross_entropy(logits, &targets)
        }
    }
}

/// The value of node `j` for one more consumer: the last consumer takes it (with its tape),
/// earlier ones get a retaped copy (same id, empty tape) so every branch is recorded.
fn take<E: Dtype, D: Device<E> + Storage<usize>, T: Tape<E, D>>(
    values: &mut [Option<Flow<E, D, T>>],
    uses: &mut [usize],
    j: usize,
) -> Flow<E, D, T> {
    uses[j] -= 1;
    if uses[j] == 0 {
        return values[j].take().expect("a value is read after it is made");
    }
    let retaped =
        |a: &Act<E, D, T>| Act { x: a.x.retaped::<T>(), batch: a.batch, positions: a.positions, first: a.first };
    match values[j].as_ref().expect("a value is read after it is made") {
        Flow::Tokens(t) => Flow::Tokens(t.clone()),
        Flow::Hidden(a) => Flow::Hidden(retaped(a)),
        Flow::Sum { body, skip } => Flow::Sum { body: retaped(body), skip: retaped(skip) },
    }
}

/// Keeps only the last position of each window when asked and there is more than one.
fn rows<E: Dtype, D: Device<E> + Storage<usize>, T: Tape<E, D>>(v: Flow<E, D, T>, last: bool) -> Flow<E, D, T> {
    match v {
        Flow::Hidden(a) if last && a.positions > 1 => Flow::Hidden(select_last(a)),
        Flow::Sum { body, skip } if last && skip.positions > 1 => {
            Flow::Sum { body: select_last(body), skip: select_last(skip) }
        }
        Flow::Tokens(t) if last && t.positions > 1 => unreachable!("the plan trims token ids at the input"),
        other => other,
    }
}

/// Where a model runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DeviceKind {
    Cpu,
    /// A CUDA device by ordinal (needs the `cuda` feature).
    Cuda(usize),
}

/// How to build a model for training.
#[derive(Clone, Debug)]
pub struct BuildConfig {
    pub device: DeviceKind,
    /// Drives initialisation and dropout.
    pub seed: u64,
    pub optimizer: OptimizerConfig,
    /// Which fused kernels to use (CPU); `Attention` is the fastest and the default.
    pub fusion: Fusion,
    /// The layers' forward passes: the built-ins, and any a program registered.
    pub forwards: Arc<Forwards>,
}

impl BuildConfig {
    pub fn cpu(seed: u64) -> BuildConfig {
        BuildConfig {
            device: DeviceKind::Cpu,
            seed,
            optimizer: OptimizerConfig::default(),
            fusion: Fusion::Attention,
            forwards: Arc::new(Forwards::default()),
        }
    }
}

/// Why a model could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the layer `{path}` is a `{kind}`, which has no forward pass registered")]
    NoForward { kind: String, path: String },
    #[error("this build of tinyarch has no CUDA support")]
    #[allow(dead_code)]
    NoCuda,
    #[error("cannot open CUDA device {0}: {1}")]
    Cuda(usize, String),
    #[cfg(unix)]
    #[error(transparent)]
    CudaUnavailable(#[from] crate::backend::cuda_libraries::CudaUnavailable),
    #[error("gradient clipping is not available on CUDA yet: drop `clip` from the optimizer settings")]
    #[allow(dead_code)]
    ClipOnCuda,
}

impl BuildError {
    /// The device asked for cannot be used here (no CUDA in this build, no driver, no GPU).
    pub fn is_device_unavailable(&self) -> bool {
        match self {
            BuildError::NoCuda => true,
            #[cfg(unix)]
            BuildError::CudaUnavailable(_) => true,
            _ => false,
        }
    }
}

/// Whether `device` can be used here, checked before any work: without CUDA support, or without
/// a driver or a device, a clear error instead of a panic deep in the CUDA library.
pub fn device_available(device: DeviceKind) -> Result<(), BuildError> {
    match device {
        DeviceKind::Cpu => Ok(()),
        #[cfg(all(feature = "cuda", unix))]
        DeviceKind::Cuda(ordinal) => Ok(crate::backend::cuda_libraries::ensure(ordinal)?),
        #[cfg(all(feature = "cuda", not(unix)))]
        DeviceKind::Cuda(_) => Ok(()),
        #[cfg(not(feature = "cuda"))]
        DeviceKind::Cuda(_) => Err(BuildError::NoCuda),
    }
}

/// A CUDA device, its libraries loaded and checked first.
#[cfg(feature = "cuda")]
pub fn cuda_device(ordinal: usize, seed: u64) -> Result<Cuda, BuildError> {
    device_available(DeviceKind::Cuda(ordinal))?;
    Cuda::try_build(ordinal, seed).map_err(|e| BuildError::Cuda(ordinal, format!("{e:?}")))
}

/// Builds a checked model on a device, with an optimizer: what `tinyarch run` trains.
pub fn build(checked: Arc<Checked>, config: &BuildConfig) -> Result<Box<dyn Trainable>, BuildError> {
    match config.device {
        DeviceKind::Cpu => {
            crate::backend::tune_allocator();
            Ok(Box::new(Trainer::new(checked, Cpu::seed_from_u64(config.seed), config, "cpu".into())?))
        }
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda(_) if config.optimizer.clip.is_some() => Err(BuildError::ClipOnCuda),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda(ordinal) => {
            let dev = cuda_device(ordinal, config.seed)?;
            Ok(Box::new(Trainer::new(checked, dev, config, format!("cuda:{ordinal}"))?))
        }
        #[cfg(not(feature = "cuda"))]
        DeviceKind::Cuda(_) => Err(BuildError::NoCuda),
    }
}

/// A model and its Adam state on one device, in f32.
pub struct Trainer<D: Kernels<f32>> {
    pub model: Model<f32, D>,
    adam: Adam<f32, D>,
    fusion: Fusion,
    device: String,
    /// Draws from the device's random stream so far (see `ops::draws`).
    random_draws: u64,
}

impl<D: Kernels<f32>> Trainer<D> {
    pub fn new(checked: Arc<Checked>, dev: D, config: &BuildConfig, device: String) -> Result<Self, BuildError> {
        Ok(Trainer {
            model: Model::new(checked, &config.forwards, dev, config.seed)?,
            adam: Adam::new(config.optimizer),
            fusion: config.fusion,
            device,
            random_draws: 0,
        })
    }

    fn mode(&self, train: bool) -> Mode {
        Mode { train, fusion: self.fusion }
    }
}

impl<D: Kernels<f32>> Trainable for Trainer<D>
where
    On: Select<f32, D, OwnedTape<f32, D>> + Select<f32, D, NoneTape>,
{
    fn flops_per_sample(&self, objective: Objective) -> TrainingFlops {
        self.model.checked.plan(objective).training
    }

    fn train_step(&mut self, batch: &Batch, lr: f64) -> f32 {
        let drawn = ops::draws::draws();
        let value = self.step(batch, lr);
        self.random_draws += ops::draws::draws() - drawn;
        value
    }

    fn eval_batch(&mut self, batch: &Batch) -> (f64, usize) {
        let mode = self.mode(false);
        let loss = self.model.loss::<NoneTape>(&batch.ids, &batch.targets, batch.batch, batch.objective, mode);
        let n = batch.targets.len();
        (loss.as_vec()[0] as f64 * n as f64, n)
    }

    fn next_token_logits(&mut self, ids: &[u32], rows: usize) -> Vec<f32> {
        let logits = self.model.forward::<NoneTape>(ids, rows, Objective::Last, self.mode(false));
        logits.as_vec()
    }

    fn weights(&self) -> Weights {
        let tensors =
            self.model.params.iter().map(|(name, p)| (name.to_string(), p.dims.clone(), p.value.as_vec())).collect();
        Weights { tensors }
    }

    fn load_weights(&mut self, weights: &Weights) -> Result<(), String> {
        let expected: Vec<(String, Vec<usize>)> =
            self.model.params.iter().map(|(n, p)| (n.to_string(), p.dims.clone())).collect();
        let given: Vec<(String, Vec<usize>)> = weights.tensors.iter().map(|(n, d, _)| (n.clone(), d.clone())).collect();
        if expected != given {
            let missing: Vec<&String> =
                expected.iter().filter(|e| !given.contains(e)).map(|(n, _)| n).take(3).collect();
            return Err(format!("the weights do not match the model (first differences: {missing:?})"));
        }
        for (name, _, values) in &weights.tensors {
            if !self.model.params.set(name, values) {
                return Err(format!("the weights of `{name}` do not fit the model's tensor"));
            }
        }
        Ok(())
    }

    fn device_name(&self) -> String {
        self.device.clone()
    }

    fn optimizer_state(&self) -> Option<OptimizerState> {
        // A device whose buffers cannot take the moments back is not checkpointed at all.
        if !D::resumable() {
            return None;
        }
        Some(OptimizerState {
            step: self.adam.steps(),
            moments: self.adam.moments(&self.model.params),
            random_draws: self.random_draws,
        })
    }

    fn load_optimizer_state(&mut self, state: &OptimizerState) -> Result<(), String> {
        if self.random_draws != 0 || self.adam.steps() != 0 {
            return Err("the model has trained already: build a fresh one to resume into".into());
        }
        self.adam.set_moments(&self.model.params, state.step, &state.moments)?;
        ops::draws::skip(self.model.params.device(), state.random_draws);
        self.random_draws = state.random_draws;
        Ok(())
    }
}

impl<D: Kernels<f32>> Trainer<D>
where
    On: Select<f32, D, OwnedTape<f32, D>> + Select<f32, D, NoneTape>,
{
    /// One optimizer step (see [`Trainable::train_step`]).
    fn step(&mut self, batch: &Batch, lr: f64) -> f32 {
        let mode = self.mode(true);
        let loss = self.model.loss::<OwnedTape<f32, D>>(&batch.ids, &batch.targets, batch.batch, batch.objective, mode);
        let value = loss.as_vec()[0];
        if !value.is_finite() {
            return value; // the runner stops; no update from a broken gradient
        }
        let mut grads = loss.backward();
        match self.adam.step(&mut self.model.params, &mut grads, lr) {
            Ok(()) => value,
            // Reported as a non-finite loss: the runner records the run as failed.
            Err(OptimError::ClipUnsupported | OptimError::Device(_)) => f32::NAN,
        }
    }
}
