//! Parameter store: runtime-shaped tensors keyed by layer path (`blocks.0.attn.qkv.weight`),
//! initialised as the checker's [`ParamSpec`]s say (PyTorch's defaults).
//!
//! Every parameter is stored flat (`[numel]`) with its logical dims beside it. Views of other
//! ranks are made with `reshape_like`, which on a contiguous tensor is free and keeps the tensor
//! id, so all views of a parameter accumulate into the one gradient buffer keyed by that id.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use dfdx::prelude::*;

use crate::backend::{Tensor1, Tensor2};
use crate::layers::{Init, ParamSpec};
use crate::rng::Rng;

/// One named parameter: flat storage plus its logical dims (PyTorch layout, e.g. a linear
/// weight is `[out, in]`).
#[derive(Debug, Clone)]
pub struct Param<E: Dtype, D: Storage<E>> {
    pub dims: Vec<usize>,
    pub value: Tensor1<E, D>,
}

/// Named parameters in the order the checker declared them. Tied parameters are aliases:
/// both names resolve to one stored tensor.
#[derive(Debug, Clone)]
pub struct ParamStore<E: Dtype, D: Device<E>> {
    dev: D,
    params: Vec<(String, Param<E, D>)>,
    index: HashMap<String, usize>,
    /// With [`ParamStore::tracking_reads`], the names the forward pass has read through
    /// [`ParamStore::vector`] and [`ParamStore::matrix`] (shared by clones): the conformance suite
    /// checks that every stored tensor is read. `None` in training, which pays nothing for it.
    reads: Option<Arc<Mutex<BTreeSet<String>>>>,
}

/// Draws `n` values from `init` in f64, so that f32 and f64 stores built from the same seed hold
/// the same weights up to rounding.
pub fn sample(init: Init, rng: &mut Rng, n: usize) -> Vec<f64> {
    match init {
        // One normal per pair: the initialisation streams predate the pairing.
        Init::Normal { std } => (0..n).map(|_| std * rng.normal_pair().0).collect(),
        Init::Uniform { bound } => (0..n).map(|_| (2.0 * rng.next_f64() - 1.0) * bound).collect(),
        Init::XavierUniform { fan_in, fan_out } => {
            let bound = (6.0 / (fan_in + fan_out) as f64).sqrt();
            (0..n).map(|_| (2.0 * rng.next_f64() - 1.0) * bound).collect()
        }
        Init::Ones => vec![1.0; n],
        Init::Zeros => vec![0.0; n],
    }
}

impl<E: Dtype, D: Device<E>> ParamStore<E, D> {
    /// The parameters of a checked model, initialised from `seed`: each parameter draws from
    /// its own stream (forked by position), so adding a layer does not reshuffle the others.
    pub fn from_specs<'a>(dev: D, specs: impl IntoIterator<Item = &'a ParamSpec>, seed: u64) -> Self {
        let root = Rng::new(seed);
        let mut store = ParamStore { dev, params: Vec::new(), index: HashMap::new(), reads: None };
        for (i, spec) in specs.into_iter().enumerate() {
            let dims: Vec<usize> = spec.shape.iter().map(|&d| d as usize).collect();
            if let Some(target) = &spec.tied_to {
                let at = store.index[target.as_str()];
                store.index.insert(spec.name.clone(), at);
                continue;
            }
            let numel = dims.iter().product();
            let values = sample(spec.init, &mut root.fork(i as u64), numel);
            store.push(&spec.name, dims, values.into_iter().map(|v| E::from_f64(v).unwrap()).collect());
        }
        store
    }

    fn push(&mut self, name: &str, dims: Vec<usize>, data: Vec<E>) {
        let numel = data.len();
        let value = self.dev.tensor_from_vec(data, (numel,));
        self.index.insert(name.to_string(), self.params.len());
        self.params.push((name.to_string(), Param { dims, value }));
    }

    pub fn device(&self) -> &D {
        &self.dev
    }

    /// `None` for a name the checker never declared: a plugin bug, reported by the caller.
    pub fn get(&self, name: &str) -> Option<&Param<E, D>> {
        self.index.get(name).map(|&i| &self.params[i].1)
    }

    pub fn param(&self, name: &str) -> &Param<E, D> {
        self.get(name).unwrap_or_else(|| panic!("no parameter `{name}`: the checker did not declare it"))
    }

    /// A rank-1 view (biases, norm gains). Cheap: clones an `Arc`.
    pub fn vector(&self, name: &str) -> Tensor1<E, D> {
        self.note_read(name);
        self.param(name).value.clone()
    }

    fn note_read(&self, name: &str) {
        if let Some(reads) = &self.reads {
            reads.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(name.to_string());
        }
    }

    /// The same store, recording which parameters forward passes read (see [`ParamStore::reads`]).
    pub fn tracking_reads(mut self) -> Self {
        self.reads = Some(Arc::default());
        self
    }

    /// The stored tensors' names (aliases resolved) read by forward passes since
    /// [`ParamStore::tracking_reads`]; empty when not tracking.
    pub fn reads(&self) -> BTreeSet<String> {
        let Some(reads) = &self.reads else {
            return BTreeSet::new();
        };
        let reads = reads.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        reads.iter().filter_map(|n| self.index.get(n)).map(|&i| self.params[i].0.clone()).collect()
    }

    /// A rank-2 view (weights, embedding tables), same id as the stored tensor.
    pub fn matrix(&self, name: &str) -> Tensor2<E, D> {
        self.note_read(name);
        let p = self.param(name);
        let cols = p.dims.last().copied().unwrap_or(1);
        p.value.clone().reshape_like(&(p.value.shape().0 / cols, cols))
    }

    /// Stored parameters (tied aliases appear once, under the first name).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Param<E, D>)> {
        self.params.iter().map(|(n, p)| (n.as_str(), p))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Param<E, D>)> {
        self.params.iter_mut().map(|(n, p)| (n.as_str(), p))
    }

    /// Copies values into a stored parameter; `false` if the name or length does not match.
    pub fn set(&mut self, name: &str, values: &[E]) -> bool {
        match self.index.get(name) {
            Some(&i) if self.params[i].1.value.shape().0 == values.len() => {
                self.params[i].1.value.copy_from(values);
                true
            }
            _ => false,
        }
    }

    /// The same weights on a fresh device (for CPU: a differently seeded RNG).
    pub fn on_device(&self, dev: D) -> Self {
        let params = self
            .params
            .iter()
            .map(|(n, p)| {
                let value = dev.tensor_from_vec(p.value.as_vec(), *p.value.shape());
                (n.clone(), Param { dims: p.dims.clone(), value })
            })
            .collect();
        ParamStore { dev, params, index: self.index.clone(), reads: self.reads.clone() }
    }
}
