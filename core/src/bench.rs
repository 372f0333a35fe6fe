//! Training-step throughput: tokens per second and achieved GFLOP/s of a model's step
//! (forward, loss, backward, Adam) on random tokens, on the CPU or a GPU, and the machine's GEMM
//! rate to compare against. `tinyarch bench` prints these beside PyTorch's on the same model.

use std::sync::Arc;
use std::time::Instant;

use crate::backend::{BuildConfig, BuildError, DeviceKind, Fusion};
use crate::data::{Batch, Objective};
use crate::ir::Checked;
use crate::rng::Rng;

/// What to measure.
#[derive(Clone, Copy, Debug)]
pub struct BenchConfig {
    pub objective: Objective,
    pub batch: usize,
    pub steps: usize,
    /// Steps run first and not timed (allocations, caches).
    pub warmup: usize,
    pub fusion: Fusion,
}

/// One measurement.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct BenchResult {
    pub step_ms: f64,
    pub tokens_per_s: f64,
    /// Exact-convention training FLOPs of one step (what the compiled graph computes).
    pub flops_per_step: u64,
    pub gflops: f64,
    /// Largest resident set of this process so far, MiB.
    pub peak_rss_mib: f64,
    /// On a GPU: device memory the model, its optimizer and its steps took, MiB (the device's
    /// memory in use after the timed steps, less what it used before the model was built).
    pub device_mib: Option<f64>,
}

/// Times training steps of `checked` on `device`.
pub fn training_step(
    checked: Arc<Checked>,
    config: &BenchConfig,
    device: DeviceKind,
) -> Result<BenchResult, BuildError> {
    let context = checked.graph.context.size as usize;
    let vocab = checked.graph.vocab.size;
    let flops_per_step = checked.plan(config.objective).training.exact * config.batch as u64;
    let memory = DeviceMemory::before(device)?;
    let build = BuildConfig { fusion: config.fusion, device, ..BuildConfig::cpu(0) };
    let mut trainer = crate::backend::build(checked, &build)?;
    let mut rng = Rng::new(1);
    let mut ids = |n: usize| (0..n).map(|_| rng.below(vocab) as u32).collect::<Vec<u32>>();
    let targets = match config.objective {
        Objective::Last => ids(config.batch),
        Objective::All => ids(config.batch * context),
    };
    let batch =
        Batch { batch: config.batch, context, ids: ids(config.batch * context), targets, objective: config.objective };
    for _ in 0..config.warmup {
        trainer.train_step(&batch, 3e-4);
    }
    // The median step: robust to a passing load on a shared machine. A step reads its loss
    // back, so a GPU has finished the step when it returns.
    let mut times: Vec<f64> = (0..config.steps.max(1))
        .map(|_| {
            let start = Instant::now();
            trainer.train_step(&batch, 3e-4);
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let seconds = times[times.len() / 2];
    Ok(BenchResult {
        step_ms: seconds * 1e3,
        tokens_per_s: (config.batch * context) as f64 / seconds,
        flops_per_step,
        gflops: flops_per_step as f64 / seconds / 1e9,
        peak_rss_mib: peak_rss_mib(),
        device_mib: memory.taken(),
    })
}

/// A GPU's memory in use before the model was built (its context already made), to subtract.
struct DeviceMemory {
    #[cfg(all(feature = "cuda", unix))]
    before: Option<(u64, dfdx::prelude::Cuda)>,
}

impl DeviceMemory {
    fn before(device: DeviceKind) -> Result<DeviceMemory, BuildError> {
        crate::backend::device_available(device)?;
        #[cfg(all(feature = "cuda", unix))]
        if let DeviceKind::Cuda(ordinal) = device {
            let context = crate::backend::cuda_device(ordinal, 0)?;
            let before = crate::backend::cuda_libraries::memory_in_use().map(|used| (used, context));
            return Ok(DeviceMemory { before });
        }
        Ok(DeviceMemory {
            #[cfg(all(feature = "cuda", unix))]
            before: None,
        })
    }

    fn taken(&self) -> Option<f64> {
        #[cfg(all(feature = "cuda", unix))]
        if let Some((before, _)) = &self.before {
            let after = crate::backend::cuda_libraries::memory_in_use()?;
            return Some(after.saturating_sub(*before) as f64 / (1u64 << 20) as f64);
        }
        None
    }
}

/// GFLOP/s of the fastest matrix product tinyarch has on this machine (the `gemm` kernels the
/// fused layers call, on every rayon thread) for an `n x n x n` f32 problem: the ceiling a
/// training step's matrix work can reach.
pub fn gemm_rate(n: usize, repeats: usize) -> f64 {
    crate::backend::kernels::cpu::gemm_rate(n, repeats)
}

/// Peak resident set size, MiB, from `getrusage`; NaN where there is none. No maintained crate
/// reports the peak (they give the current size), and `ru_maxrss` has a unit per platform.
#[cfg(unix)]
pub fn peak_rss_mib() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a plain struct; RUSAGE_SELF cannot fail on a valid pointer.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == 0;
    if !ok {
        return f64::NAN;
    }
    // SAFETY: initialised by the successful call above.
    let usage = unsafe { usage.assume_init() };
    // Bytes on Apple's systems; KiB on Linux and the BSDs.
    let bytes_per_unit = if cfg!(target_vendor = "apple") { 1.0 } else { 1024.0 };
    usage.ru_maxrss as f64 * bytes_per_unit / (1024.0 * 1024.0)
}

/// Peak resident set size, MiB: not measured on this platform.
#[cfg(not(unix))]
pub fn peak_rss_mib() -> f64 {
    f64::NAN
}

#[cfg(all(test, unix))]
mod rss_tests {
    #[test]
    fn peak_rss_is_read_in_this_platform_unit() {
        // Touch 64 MiB so that the peak holds it; a reading in the wrong unit is off by 1024x.
        let block = vec![1u8; 64 << 20];
        let touched: u64 = block.iter().step_by(4096).map(|&b| u64::from(b)).sum();
        assert_eq!(touched, (64 << 20) / 4096);
        let peak = super::peak_rss_mib();
        assert!((64.0..16_384.0).contains(&peak), "peak RSS {peak} MiB");
    }
}
