//! How a layer plugin runs on a device: the [`Forward`] trait, the activations that flow
//! between layers, and what a layer can see while it runs ([`Cx`]).
//!
//! A plugin implements `Forward<E, D, T>` once, generically; [`Build`] (implemented for every
//! such type) hands the executor an object-safe view for each device and tape it runs on.

use std::collections::HashMap;
use std::sync::Mutex;

use dfdx::prelude::*;

use crate::backend::ops::Rope;
use crate::backend::{Kernels, Mode, ParamStore, Tensor1, Tensor2};

/// Token ids entering the model: `[batch * positions]`, batch-major.
#[derive(Clone, Debug)]
pub struct Tokens<D: Storage<usize>> {
    pub ids: Tensor1<usize, D>,
    pub batch: usize,
    pub positions: usize,
    /// Position (within the window) of the first kept position.
    pub first: usize,
}

/// Activations `[batch * positions, width]`, batch-major, for positions
/// `first .. first + positions` of each window.
#[derive(Clone, Debug)]
pub struct Act<E: Dtype, D: Storage<E>, T> {
    pub x: Tensor2<E, D, T>,
    pub batch: usize,
    pub positions: usize,
    pub first: usize,
}

impl<E: Dtype, D: Storage<E>, T> Act<E, D, T> {
    /// The same rows with the activations transformed by `f`.
    pub fn map(self, f: impl FnOnce(Tensor2<E, D, T>) -> Tensor2<E, D, T>) -> Self {
        Act { x: f(self.x), ..self }
    }
}

/// What flows along a graph edge.
#[derive(Clone, Debug)]
pub enum Flow<E: Dtype, D: Storage<E> + Storage<usize>, T> {
    Tokens(Tokens<D>),
    Hidden(Act<E, D, T>),
    /// A residual sum `body + skip` not yet computed: a layer that can fold the addition into
    /// its own kernel (a norm after a post-LN residual) takes the parts; any other gets the sum.
    Sum {
        body: Act<E, D, T>,
        skip: Act<E, D, T>,
    },
}

impl<E: Dtype, D: Kernels<E>, T: Tape<E, D>> Flow<E, D, T> {
    /// The activations; the checker guarantees that a layer expecting them gets them.
    pub fn hidden(self) -> Act<E, D, T> {
        match self {
            Flow::Hidden(a) => a,
            Flow::Sum { body, skip } => Act { x: D::add(body.x, skip.x), ..skip },
            Flow::Tokens(_) => unreachable!("the checker only lets an embedding take token ids"),
        }
    }

    pub fn tokens(self) -> Tokens<D> {
        match self {
            Flow::Tokens(t) => t,
            _ => unreachable!("the checker only lets token ids reach an embedding"),
        }
    }
}

/// What a layer sees while it runs: its parameters, the mode, and how many positions it must
/// produce.
pub struct Cx<'a, E: Dtype, D: Kernels<E>> {
    pub params: &'a ParamStore<E, D>,
    /// The layer's path: its parameters are `<path>.<name>`.
    pub path: &'a str,
    pub mode: Mode,
    /// Only the last position of each window is needed downstream (the `last` objective): a
    /// layer that mixes positions (attention) computes its output for that position only.
    pub last_only: bool,
    /// The model's context length (RoPE tables, position embeddings).
    pub context: usize,
    pub(crate) ropes: &'a RopeCache<E, D>,
}

impl<E: Dtype, D: Kernels<E>> Cx<'_, E, D> {
    fn name(&self, param: &str) -> String {
        format!("{}.{param}", self.path)
    }

    /// This layer's parameter `name` as a matrix (`[out, in]` for weights).
    pub fn matrix(&self, name: &str) -> Tensor2<E, D> {
        self.params.matrix(&self.name(name))
    }

    pub fn vector(&self, name: &str) -> Tensor1<E, D> {
        self.params.vector(&self.name(name))
    }

    /// Whether the layer has parameter `name` (optional biases).
    pub fn has(&self, name: &str) -> bool {
        self.params.get(&self.name(name)).is_some()
    }

    /// The bias `name`, or zeros of length `len` when the layer has none, so that bias-free
    /// layers run the same fused kernels (the zeros' gradient is computed and dropped).
    pub fn bias_or_zero(&self, name: &str, len: usize) -> Tensor1<E, D> {
        if self.has(name) { self.vector(name) } else { self.params.device().zeros_like(&(len,)) }
    }

    /// A parameter of another layer, by full path (tied weights).
    pub fn matrix_at(&self, full_name: &str) -> Tensor2<E, D> {
        self.params.matrix(full_name)
    }

    /// RoPE tables for this head width and base, built once per model.
    pub fn rope(&self, head_dim: usize, base: f64) -> Rope<E, D> {
        let mut cache = self.ropes.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .entry((head_dim, base.to_bits()))
            .or_insert_with(|| Rope::new(self.params.device(), self.context, head_dim, base))
            .clone()
    }
}

/// RoPE tables by `(head width, base bits)`.
pub struct RopeCache<E: Dtype, D: Storage<E>>(Mutex<HashMap<(usize, u64), Rope<E, D>>>);

impl<E: Dtype, D: Storage<E>> Default for RopeCache<E, D> {
    fn default() -> Self {
        RopeCache(Mutex::new(HashMap::new()))
    }
}

/// A configured layer's forward pass on device `D` with tape `T`.
pub trait Forward<E: Dtype, D: Kernels<E>, T: Tape<E, D>> {
    /// `x` has the positions this layer needs (all, or only the last when `cx.last_only` and
    /// the layer is position-wise); the result has the positions `cx.last_only` asks for.
    fn forward(&self, x: Flow<E, D, T>, cx: &Cx<E, D>) -> Flow<E, D, T>;
}

pub type CpuTrain = OwnedTape<f32, Cpu>;
pub type CpuCheck = OwnedTape<f64, Cpu>;
#[cfg(feature = "cuda")]
pub type CudaTrain = OwnedTape<f32, Cuda>;
#[cfg(feature = "cuda")]
pub type CudaCheck = OwnedTape<f64, Cuda>;

/// Object-safe views of a layer's [`Forward`] on each device and tape tinyarch runs:
/// implemented for every type that implements `Forward` generically.
pub trait Build {
    fn cpu_train(&self) -> &dyn Forward<f32, Cpu, CpuTrain>;
    fn cpu_eval(&self) -> &dyn Forward<f32, Cpu, NoneTape>;
    /// f64, for gradient checks.
    fn cpu_check(&self) -> &dyn Forward<f64, Cpu, CpuCheck>;
    #[cfg(feature = "cuda")]
    fn cuda_train(&self) -> &dyn Forward<f32, Cuda, CudaTrain>;
    #[cfg(feature = "cuda")]
    fn cuda_eval(&self) -> &dyn Forward<f32, Cuda, NoneTape>;
    /// f64 on the GPU: the conformance suite and gradient checks of a CUDA build.
    #[cfg(feature = "cuda")]
    fn cuda_check(&self) -> &dyn Forward<f64, Cuda, CudaCheck>;
}

#[cfg(not(feature = "cuda"))]
impl<L> Build for L
where
    L: Forward<f32, Cpu, CpuTrain> + Forward<f32, Cpu, NoneTape> + Forward<f64, Cpu, CpuCheck>,
{
    fn cpu_train(&self) -> &dyn Forward<f32, Cpu, CpuTrain> {
        self
    }
    fn cpu_eval(&self) -> &dyn Forward<f32, Cpu, NoneTape> {
        self
    }
    fn cpu_check(&self) -> &dyn Forward<f64, Cpu, CpuCheck> {
        self
    }
}

#[cfg(feature = "cuda")]
impl<L> Build for L
where
    L: Forward<f32, Cpu, CpuTrain>
        + Forward<f32, Cpu, NoneTape>
        + Forward<f64, Cpu, CpuCheck>
        + Forward<f32, Cuda, CudaTrain>
        + Forward<f32, Cuda, NoneTape>
        + Forward<f64, Cuda, CudaCheck>,
{
    fn cpu_train(&self) -> &dyn Forward<f32, Cpu, CpuTrain> {
        self
    }
    fn cpu_eval(&self) -> &dyn Forward<f32, Cpu, NoneTape> {
        self
    }
    fn cpu_check(&self) -> &dyn Forward<f64, Cpu, CpuCheck> {
        self
    }
    fn cuda_train(&self) -> &dyn Forward<f32, Cuda, CudaTrain> {
        self
    }
    fn cuda_eval(&self) -> &dyn Forward<f32, Cuda, NoneTape> {
        self
    }
    fn cuda_check(&self) -> &dyn Forward<f64, Cuda, CudaCheck> {
        self
    }
}

/// Picks a layer's [`Forward`] for one device and tape: what makes the executor generic.
pub trait Select<E: Dtype, D: Kernels<E>, T: Tape<E, D>> {
    fn select(layer: &dyn Build) -> &dyn Forward<E, D, T>;
}

/// The one implementor of [`Select`].
pub struct On;

impl Select<f32, Cpu, CpuTrain> for On {
    fn select(layer: &dyn Build) -> &dyn Forward<f32, Cpu, CpuTrain> {
        layer.cpu_train()
    }
}

impl Select<f32, Cpu, NoneTape> for On {
    fn select(layer: &dyn Build) -> &dyn Forward<f32, Cpu, NoneTape> {
        layer.cpu_eval()
    }
}

impl Select<f64, Cpu, CpuCheck> for On {
    fn select(layer: &dyn Build) -> &dyn Forward<f64, Cpu, CpuCheck> {
        layer.cpu_check()
    }
}

#[cfg(feature = "cuda")]
impl Select<f32, Cuda, CudaTrain> for On {
    fn select(layer: &dyn Build) -> &dyn Forward<f32, Cuda, CudaTrain> {
        layer.cuda_train()
    }
}

#[cfg(feature = "cuda")]
impl Select<f32, Cuda, NoneTape> for On {
    fn select(layer: &dyn Build) -> &dyn Forward<f32, Cuda, NoneTape> {
        layer.cuda_eval()
    }
}

#[cfg(feature = "cuda")]
impl Select<f64, Cuda, CudaCheck> for On {
    fn select(layer: &dyn Build) -> &dyn Forward<f64, Cuda, CudaCheck> {
        layer.cuda_check()
    }
}

/// Row `T-1` of each window: `[B*T, C] -> [B, C]` (select accumulates in backward).
pub fn select_last<E: Dtype, D: Device<E>, T: Tape<E, D>>(a: Act<E, D, T>) -> Act<E, D, T> {
    let (n, c) = *a.x.shape();
    let t = n / a.batch;
    let idx = a.x.device().tensor_from_vec(vec![t - 1; a.batch], (a.batch,));
    let x = a.x.reshape_like(&(a.batch, t, c)).select(idx); // [B, C]
    Act { x, batch: a.batch, positions: 1, first: a.first + t - 1 }
}
