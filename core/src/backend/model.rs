//! A checked graph built on a device: the executor that runs its nodes in order, and the
//! [`Trainable`] implementation the runner drives.
//!
//! Under the `last` objective only the last position's logits are read, so the executor
//! computes only what they depend on: walking the graph backwards, a node needs only its last
//! position when every consumer is position-wise and needs only its own last position.
//! Attention needs every position of its input (keys and values) but then computes its query,
//! scores and output for the last position alone.

use std::sync::Arc;

use dfdx::prelude::*;

use crate::backend::forward::{RopeCache, select_last};
use crate::backend::optim::OptimError;
use crate::backend::{Act, Adam, Cx, Fusion, Kernels, Mode, On, ParamStore, Select, Tensor1, Tensor2, Tokens, Value};
use crate::data::{Batch, Objective};
use crate::ir::{Checked, FlopInputs, Flops, Op, TrainingFlops};
use crate::train::{OptimizerConfig, Trainable, Weights};

/// A model's parameters on a device, with the graph that uses them.
pub struct Model<E: Dtype, D: Kernels<E>> {
    pub checked: Arc<Checked>,
    pub params: ParamStore<E, D>,
    ropes: RopeCache<E, D>,
}

/// Which nodes compute only their last position, and how often each node's value is read.
struct Plan {
    last_only: Vec<bool>,
    uses: Vec<usize>,
}

/// Whether `objective` can train this model: per-position objectives need per-position logits.
pub fn objective_fits(checked: &Checked, objective: Objective) -> bool {
    objective == Objective::Last || checked.summary.predicted_tokens > 1
}

fn plan(checked: &Checked, objective: Objective) -> Plan {
    let nodes = &checked.graph.nodes;
    let n = nodes.len();
    let positional_output = checked.summary.predicted_tokens > 1;
    let mut last_only = vec![true; n];
    last_only[n - 1] = objective == Objective::Last && positional_output;
    let mut uses = vec![0; n];
    for i in (0..n).rev() {
        let position_wise = match (&nodes[i].op, &checked.nodes[i].layer) {
            (Op::Add, _) => true,
            (_, Some(layer)) => layer.position_wise(),
            _ => false,
        };
        for &j in &nodes[i].inputs {
            uses[j] += 1;
            if !(position_wise && last_only[i]) {
                last_only[j] = false;
            }
        }
    }
    Plan { last_only, uses }
}

/// Forward FLOPs per sample of what the executor computes under `objective`.
pub fn forward_flops(checked: &Checked, objective: Objective) -> Flops {
    let plan = plan(checked, objective);
    let mut total = Flops::default();
    for (i, node) in checked.nodes.iter().enumerate() {
        let rows = if plan.last_only[i] { 1 } else { node.shape.rows() };
        let flops = match &node.layer {
            Some(layer) => layer.flops(rows),
            None if matches!(checked.graph.nodes[i].op, Op::Add) => {
                Flops::elementwise(rows * node.shape.width().map_or(1, |d| d.size))
            }
            None => Flops::default(),
        };
        total = total.checked_add(flops).unwrap_or(total);
    }
    total
}

/// Training FLOPs per sample under `objective`, in every convention.
pub fn training_flops(checked: &Checked, objective: Objective) -> TrainingFlops {
    let s = &checked.summary;
    let predicted = if objective == Objective::Last { 1 } else { s.predicted_tokens };
    FlopInputs {
        forward_matmul: forward_flops(checked, objective).matmul,
        non_embedding_params: s.params - s.embedding_params,
        all_params: s.params,
        kaplan_context: s.kaplan_context,
        context: checked.graph.context.size,
        predicted_tokens: predicted,
    }
    .training()
    .unwrap_or(s.training)
}

impl<E: Dtype, D: Kernels<E>> Model<E, D> {
    /// Parameters initialised from `seed` as the checker declared them.
    pub fn new(checked: Arc<Checked>, dev: D, seed: u64) -> Self {
        let specs = checked.nodes.iter().flat_map(|n| n.params.iter());
        let params = ParamStore::from_specs(dev, specs, seed);
        Model { checked, params, ropes: RopeCache::default() }
    }

    /// A model over given parameters (gradient checks probe copies of them).
    pub fn with_params(checked: Arc<Checked>, params: ParamStore<E, D>) -> Self {
        Model { checked, params, ropes: RopeCache::default() }
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
        let plan = plan(&self.checked, objective);
        let positions = ids.len() / batch;
        let mut uses = plan.uses.clone();
        let mut values: Vec<Option<Value<E, D, T>>> = (0..graph.nodes.len()).map(|_| None).collect();
        let context = graph.context.size as usize;
        for (i, node) in graph.nodes.iter().enumerate() {
            let last_only = plan.last_only[i];
            let value = match &node.op {
                Op::Input => Value::Tokens(self.tokens(ids, batch, positions, last_only)),
                Op::Layer { .. } => {
                    let layer = self.checked.nodes[i].layer.as_deref().expect("a layer node has a configured layer");
                    let wants_last = last_only && layer.position_wise();
                    let x = rows(take(&mut values, &mut uses, node.inputs[0]), wants_last);
                    let cx =
                        Cx { params: &self.params, path: &node.path, mode, last_only, context, ropes: &self.ropes };
                    On::select(layer).forward(x, &cx)
                }
                Op::Add => {
                    let (body_node, skip_node) = (node.inputs[0], node.inputs[1]);
                    let body = rows(take(&mut values, &mut uses, body_node), last_only).hidden();
                    let skip = rows(take(&mut values, &mut uses, skip_node), last_only).hidden();
                    if body_node == skip_node {
                        // An empty residual body reads one value twice: `x + x` on one id would
                        // panic in backward, so double the copy that carries the tape.
                        Value::Hidden(Act { x: skip.x * E::from_f64(2.0).unwrap(), ..skip })
                    } else if plan.uses[i] == 1 {
                        // One reader: it may fold the addition into its own kernel.
                        Value::Sum { body, skip }
                    } else {
                        Value::Hidden(Value::Sum { body, skip }.hidden())
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
    values: &mut [Option<Value<E, D, T>>],
    uses: &mut [usize],
    j: usize,
) -> Value<E, D, T> {
    uses[j] -= 1;
    if uses[j] == 0 {
        return values[j].take().expect("a value is read after it is made");
    }
    let retaped =
        |a: &Act<E, D, T>| Act { x: a.x.retaped::<T>(), batch: a.batch, positions: a.positions, first: a.first };
    match values[j].as_ref().expect("a value is read after it is made") {
        Value::Tokens(t) => Value::Tokens(t.clone()),
        Value::Hidden(a) => Value::Hidden(retaped(a)),
        Value::Sum { body, skip } => Value::Sum { body: retaped(body), skip: retaped(skip) },
    }
}

/// Keeps only the last position of each window when asked and there is more than one.
fn rows<E: Dtype, D: Device<E> + Storage<usize>, T: Tape<E, D>>(v: Value<E, D, T>, last: bool) -> Value<E, D, T> {
    match v {
        Value::Hidden(a) if last && a.positions > 1 => Value::Hidden(select_last(a)),
        Value::Sum { body, skip } if last && skip.positions > 1 => {
            Value::Sum { body: select_last(body), skip: select_last(skip) }
        }
        Value::Tokens(t) if last && t.positions > 1 => unreachable!("the plan trims token ids at the input"),
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
#[derive(Clone, Copy, Debug)]
pub struct BuildConfig {
    pub device: DeviceKind,
    /// Drives initialisation and dropout.
    pub seed: u64,
    pub optimizer: OptimizerConfig,
    /// Which fused kernels to use (CPU); `Attention` is the fastest and the default.
    pub fusion: Fusion,
}

impl BuildConfig {
    pub fn cpu(seed: u64) -> BuildConfig {
        BuildConfig { device: DeviceKind::Cpu, seed, optimizer: OptimizerConfig::default(), fusion: Fusion::Attention }
    }
}

/// Why a model could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("this build of tinyarch has no CUDA support")]
    #[allow(dead_code)]
    NoCuda,
    #[error("cannot open CUDA device {0}: {1}")]
    Cuda(usize, String),
    #[error("gradient clipping is not available on CUDA yet: drop `clip` from the optimizer settings")]
    #[allow(dead_code)]
    ClipOnCuda,
}

/// Builds a checked model on a device, with an optimizer: what `tinyarch run` trains.
pub fn build(checked: Arc<Checked>, config: &BuildConfig) -> Result<Box<dyn Trainable>, BuildError> {
    match config.device {
        DeviceKind::Cpu => {
            crate::backend::tune_allocator();
            Ok(Box::new(Trainer::new(checked, Cpu::seed_from_u64(config.seed), config, "cpu".into())))
        }
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda(_) if config.optimizer.clip.is_some() => Err(BuildError::ClipOnCuda),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda(ordinal) => {
            let dev = Cuda::try_build(ordinal, config.seed).map_err(|e| BuildError::Cuda(ordinal, format!("{e:?}")))?;
            Ok(Box::new(Trainer::new(checked, dev, config, format!("cuda:{ordinal}"))))
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
    steps: u64,
}

impl<D: Kernels<f32>> Trainer<D> {
    pub fn new(checked: Arc<Checked>, dev: D, config: &BuildConfig, device: String) -> Self {
        Trainer {
            model: Model::new(checked, dev, config.seed),
            adam: Adam::new(config.optimizer),
            fusion: config.fusion,
            device,
            steps: 0,
        }
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
        training_flops(&self.model.checked, objective)
    }

    fn train_step(&mut self, batch: &Batch, lr: f64) -> f32 {
        self.steps += 1;
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
            self.model.params.set(name, values);
        }
        Ok(())
    }

    fn device_name(&self) -> String {
        self.device.clone()
    }
}
