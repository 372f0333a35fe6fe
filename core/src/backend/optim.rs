//! Adam and AdamW over a [`ParamStore`], as PyTorch's `torch.optim.Adam` / `AdamW`.
//!
//! The per-tensor update is dfdx's public `AdamConfig::try_update`, whose kernel (CPU and CUDA)
//! is PyTorch's algorithm: `m = b1 m + (1-b1) g`, `v = b2 v + (1-b2) g^2`,
//! `p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)` (eps outside the square root);
//! L2 weight decay adds `wd * p` to `g` first (Adam), decoupled decay subtracts `lr * wd * p_old`
//! (AdamW). The moments live in two `Gradients` maps keyed by the parameters' ids, so they
//! follow the parameters on any device. Optional clipping scales every gradient by
//! `max_norm / total_norm` when the global norm exceeds it (`clip_grad_norm_`).

use crate::backend::{Kernels, ParamStore};
use crate::train::OptimizerConfig;
use dfdx::prelude::*;

pub struct Adam<E: Dtype, D: Storage<E>> {
    pub cfg: OptimizerConfig,
    step: i32,
    m: Gradients<E, D>,
    v: Gradients<E, D>,
}

impl<E: Dtype, D: Kernels<E>> Adam<E, D> {
    pub fn new(cfg: OptimizerConfig) -> Self {
        Self { cfg, step: 0, m: Gradients::leaky(), v: Gradients::leaky() }
    }

    pub fn steps(&self) -> i32 {
        self.step
    }

    /// Each parameter's moments, `(name, m, v)`; zeros before the first step.
    pub fn moments(&self, params: &ParamStore<E, D>) -> Vec<(String, Vec<E>, Vec<E>)> {
        params
            .iter()
            .map(|(name, p)| {
                let read = |g: &Gradients<E, D>| {
                    if self.step == 0 {
                        vec![E::default(); p.value.shape().num_elements()]
                    } else {
                        g.get(&p.value).as_vec()
                    }
                };
                (name.to_string(), read(&self.m), read(&self.v))
            })
            .collect()
    }

    /// Sets the step count and every parameter's moments. `Err` where the device cannot take
    /// host values into its buffers, or on a name or length that does not match.
    pub fn set_moments(
        &mut self,
        params: &ParamStore<E, D>,
        step: i32,
        moments: &[(String, Vec<E>, Vec<E>)],
    ) -> Result<(), String> {
        if moments.len() != params.iter().count() {
            return Err(format!("{} moments for {} parameters", moments.len(), params.iter().count()));
        }
        for ((name, p), (saved, m, v)) in params.iter().zip(moments) {
            if name != saved || m.len() != p.value.shape().num_elements() || v.len() != m.len() {
                return Err(format!("the moments of `{saved}` do not fit the parameter `{name}`"));
            }
            for (state, values) in [(&mut self.m, m), (&mut self.v, v)] {
                let buffer = state.get_or_alloc_mut(&p.value).map_err(|e| format!("{e:?}"))?;
                if !D::write_buffer(buffer, values) {
                    return Err("this device cannot resume an optimizer".into());
                }
            }
        }
        self.step = step;
        Ok(())
    }

    /// One update of every parameter from `grads` at learning rate `lr` (a schedule's value).
    /// A parameter without a gradient gets a zero one (PyTorch would skip it; it only matters
    /// with weight decay).
    /// Fails only where the device cannot clip (clipping was asked for on a device without a
    /// scaling kernel) or runs out of memory.
    pub fn step(
        &mut self,
        params: &mut ParamStore<E, D>,
        grads: &mut Gradients<E, D>,
        lr: f64,
    ) -> Result<(), OptimError> {
        self.step += 1;
        if let Some(max_norm) = self.cfg.clip {
            clip_global_norm(params, grads, max_norm)?;
        }
        let wd = self.cfg.weight_decay;
        let cfg = dfdx::prelude::AdamConfig {
            lr,
            betas: self.cfg.betas,
            eps: self.cfg.eps,
            weight_decay: match (wd > 0.0, self.cfg.decoupled) {
                (false, _) => None,
                (true, false) => Some(WeightDecay::L2(wd)),
                (true, true) => Some(WeightDecay::Decoupled(wd)),
            },
        };
        for (_, p) in params.iter_mut() {
            let g = grads.get_or_alloc_mut(&p.value).map_err(device)?;
            let m = self.m.get_or_alloc_mut(&p.value).map_err(device)?;
            let v = self.v.get_or_alloc_mut(&p.value).map_err(device)?;
            cfg.try_update(self.step, &mut p.value, m, v, g).map_err(device)?;
        }
        Ok(())
    }
}

/// Why an optimizer step failed.
#[derive(Debug, thiserror::Error)]
pub enum OptimError {
    #[error("gradient clipping is not available on this device")]
    ClipUnsupported,
    #[error("the device failed during the optimizer step: {0}")]
    Device(String),
}

fn device(e: impl std::fmt::Debug) -> OptimError {
    OptimError::Device(format!("{e:?}"))
}

/// `torch.nn.utils.clip_grad_norm_`: one global L2 norm over every gradient.
fn clip_global_norm<E: Dtype, D: Kernels<E>>(
    params: &ParamStore<E, D>,
    grads: &mut Gradients<E, D>,
    max_norm: f64,
) -> Result<(), OptimError> {
    let mut total = 0.0f64;
    for (_, p) in params.iter() {
        grads.try_alloc_for(&p.value).map_err(device)?;
        let squares = grads.get(&p.value).square().sum::<Rank0, _>().as_vec();
        total += squares[0].to_f64().unwrap_or(f64::INFINITY);
    }
    let norm = total.sqrt();
    let scale = max_norm / (norm + 1e-6); // PyTorch's epsilon
    if scale >= 1.0 {
        return Ok(());
    }
    for (_, p) in params.iter() {
        let g = grads.get_or_alloc_mut(&p.value).map_err(device)?;
        if !D::scale_in_place(g, E::from_f64(scale).unwrap()) {
            return Err(OptimError::ClipUnsupported);
        }
    }
    Ok(())
}
