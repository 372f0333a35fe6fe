//! Numeric gradient check in f64: central differences against dfdx's backward.
//!
//! The inputs live in a [`ParamStore`] so that the analytic gradients can be read by tensor id.
//! Every evaluation rebuilds the store on a device freshly seeded with the same seed, so ops that
//! draw from the device RNG (dropout) see the same masks in every evaluation.

use dfdx::prelude::*;

use crate::backend::ParamStore;

/// The device gradient checks and the conformance suite run on: the GPU in a CUDA build, where
/// every fused op falls back to the composite ops, so `cargo test --features cuda` checks those.
#[cfg(not(feature = "cuda"))]
pub type CheckDevice = Cpu;
#[cfg(feature = "cuda")]
pub type CheckDevice = Cuda;

/// A [`CheckDevice`] seeded with `seed`.
pub fn check_device(seed: u64) -> CheckDevice {
    #[cfg(not(feature = "cuda"))]
    return Cpu::seed_from_u64(seed);
    #[cfg(feature = "cuda")]
    return crate::backend::cuda_device(0, seed).unwrap_or_else(|e| panic!("{e}"));
}

/// Gradient check outcome for one parameter.
#[derive(Debug, Clone)]
pub struct GradReport {
    pub name: String,
    /// `||analytic - numeric|| / max(||analytic||, ||numeric||)` over the checked coordinates.
    pub rel_error: f64,
    /// Largest elementwise `|a - n| / max(|a|, |n|, floor)`.
    pub max_elem_error: f64,
    pub checked: usize,
}

pub struct GradCheck {
    /// Finite-difference step.
    pub h: f64,
    /// Coordinates checked per parameter (evenly spread); all when the parameter is smaller.
    pub max_coords: usize,
    /// Seed of the device every evaluation runs on.
    pub seed: u64,
    /// Gradients smaller than this are compared absolutely (a gradient that is 0 in exact
    /// arithmetic, e.g. of a key bias, has central-difference noise of about 1e-10).
    pub floor: f64,
}

impl Default for GradCheck {
    fn default() -> Self {
        Self { h: 1e-6, max_coords: 24, seed: 0, floor: 1e-3 }
    }
}

impl GradCheck {
    /// Checks `loss(params)` against central differences for every parameter in `params`.
    pub fn run(
        &self,
        params: &ParamStore<f64, CheckDevice>,
        loss: impl Fn(&ParamStore<f64, CheckDevice>) -> Tensor<Rank0, f64, CheckDevice, OwnedTape<f64, CheckDevice>>,
    ) -> Vec<GradReport> {
        let fresh = |p: &ParamStore<f64, CheckDevice>| p.on_device(check_device(self.seed));
        let value = |p: &ParamStore<f64, CheckDevice>| loss(&fresh(p)).array();

        let store = fresh(params);
        let grads = loss(&store).backward();
        let mut reports = Vec::new();
        let names: Vec<String> = params.iter().map(|(n, _)| n.to_string()).collect();
        for name in names {
            let analytic = grads.get(&store.param(&name).value).as_vec();
            let base = params.param(&name).value.as_vec();
            let numel = base.len();
            let stride = numel.div_ceil(self.max_coords).max(1);
            let (mut diff2, mut a2, mut n2, mut max_elem, mut checked) = (0.0, 0.0, 0.0, 0.0f64, 0);
            for i in (0..numel).step_by(stride) {
                let mut probe = params.clone();
                let mut v = base.clone();
                v[i] = base[i] + self.h;
                probe.set(&name, &v);
                let up = value(&probe);
                v[i] = base[i] - self.h;
                probe.set(&name, &v);
                let down = value(&probe);
                let numeric = (up - down) / (2.0 * self.h);
                let a = analytic[i];
                diff2 += (a - numeric).powi(2);
                a2 += a * a;
                n2 += numeric * numeric;
                max_elem = max_elem.max((a - numeric).abs() / a.abs().max(numeric.abs()).max(self.floor));
                checked += 1;
            }
            // Gradients that are zero in exact arithmetic (a key bias: softmax ignores a shift
            // shared by a whole row) are compared absolutely, below the floor.
            let rel_error = diff2.sqrt() / a2.max(n2).sqrt().max(self.floor);
            reports.push(GradReport { name, rel_error, max_elem_error: max_elem, checked });
        }
        reports
    }

    /// Runs the check and panics with every report if one fails `tol`.
    pub fn assert(
        &self,
        params: &ParamStore<f64, CheckDevice>,
        tol: f64,
        loss: impl Fn(&ParamStore<f64, CheckDevice>) -> Tensor<Rank0, f64, CheckDevice, OwnedTape<f64, CheckDevice>>,
    ) {
        let reports = self.run(params, loss);
        let bad: Vec<_> = reports.iter().filter(|r| !(r.rel_error < tol && r.max_elem_error < tol)).collect();
        assert!(bad.is_empty(), "gradient check failed (tol {tol}):\n{bad:#?}\nall: {reports:#?}");
    }
}
