//! `tinyarch bench`: prints the library's throughput measurement, and PyTorch's beside it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;

use tinyarch::Checked;
use tinyarch::backend::Fusion;
use tinyarch::bench::{BenchConfig, BenchResult, gemm_rate, training_step};
use tinyarch::data::Objective;
use tinyarch::units::human;

use crate::ModelArgs;
use crate::run::DeviceArg;

/// What to time, and where.
pub struct Options {
    pub objective: Objective,
    pub steps: usize,
    pub warmup: usize,
    pub device: DeviceArg,
}

/// The PyTorch benchmark, built in so that `bench` works from any folder.
const PYTORCH_SCRIPT: &str = include_str!("../../../tools/bench/pytorch_bench.py");

/// PyTorch's figures, as `pytorch_bench.py` prints them.
#[derive(serde::Deserialize)]
struct Torch {
    framework: String,
    step_ms: f64,
    tokens_per_s: f64,
    peak_rss_mib: f64,
    #[serde(default)]
    device_mib: Option<f64>,
}

pub fn run(
    checked: Checked,
    model: &ModelArgs,
    options: &Options,
    pytorch: Option<PathBuf>,
    script: Option<&Path>,
) -> ExitCode {
    let Options { objective, steps, warmup, device } = *options;
    if objective == Objective::All && checked.summary.predicted_tokens == 1 {
        eprintln!("error: `{}` predicts one token per window: use `--objective last`", checked.graph.name);
        return ExitCode::FAILURE;
    }
    let name = checked.graph.name.clone();
    let layers = checked.graph.params.iter().find(|p| p.name == "layers").map(|p| p.value.to_string());
    let context = checked.graph.context.size;
    let vocab = checked.graph.vocab.size;
    let config = BenchConfig { objective, batch: model.batch as usize, steps, warmup, fusion: Fusion::Attention };
    let on_gpu = matches!(device, DeviceArg::Cuda);
    // The CPU's GEMM rate is the ceiling on the CPU; a GPU's is not measured here.
    let gemm = if on_gpu { f64::NAN } else { gemm_rate(1024, 5) };
    let ours = match training_step(Arc::new(checked), &config, device.into()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let device_name = if on_gpu { "cuda" } else { "cpu" };
    let objective_name = if objective == Objective::All { "all" } else { "last" };
    println!(
        "`{name}`, objective {objective_name}, batch {}, context {context}, on {device_name}: {} FLOPs per step (exact){}",
        config.batch,
        human(ours.flops_per_step),
        if on_gpu { String::new() } else { format!("; GEMM {gemm:.0} GFLOP/s") },
    );
    println!(
        "  {:<22} {:>9} {:>10} {:>8} {:>10} {:>13}{}",
        "",
        "step ms",
        "tokens/s",
        "GFLOP/s",
        "% of GEMM",
        "peak RSS MiB",
        if on_gpu { "  GPU MiB" } else { "" }
    );
    row("tinyarch", &ours, gemm);
    let Some(python) = pytorch else { return ExitCode::SUCCESS };
    let Some(layers) = layers.filter(|_| name == "transformer" || name == "gpt") else {
        eprintln!("error: `{name}` has no PyTorch counterpart in the benchmark script (`transformer` and `gpt` do)");
        return ExitCode::FAILURE;
    };
    let mut command = Command::new(&python);
    // The built-in script is read from stdin (`python -`), so no file is needed.
    command.arg(script.map_or(Path::new("-"), |s| s));
    command
        .args(["--model", &name, "--objective", objective_name, "--layers", &layers])
        .args(["--vocab", &vocab.to_string(), "--context", &context.to_string()])
        .args(["--batch", &config.batch.to_string(), "--steps", &steps.to_string(), "--warmup", &warmup.to_string()])
        .args(["--threads", &rayon::current_num_threads().to_string(), "--device", device_name])
        .stdin(if script.is_some() { Stdio::null() } else { Stdio::piped() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = command.spawn().and_then(|mut child| {
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(PYTORCH_SCRIPT.as_bytes())?;
        }
        child.wait_with_output()
    });
    let torch: Torch = match output.map(|o| (o.status.success(), o)) {
        Ok((true, o)) => match serde_json::from_slice(&o.stdout) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read PyTorch's result: {e}");
                return ExitCode::FAILURE;
            }
        },
        Ok((false, o)) => {
            eprintln!("error: the PyTorch benchmark failed:\n{}", String::from_utf8_lossy(&o.stderr));
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("error: cannot run `{}`: {e}", python.display());
            return ExitCode::FAILURE;
        }
    };
    // PyTorch is credited with the same FLOPs: under `last` it computes more, but the work
    // that matters is what the loss reads.
    let seconds = torch.step_ms / 1e3;
    let theirs = BenchResult {
        step_ms: torch.step_ms,
        tokens_per_s: torch.tokens_per_s,
        flops_per_step: ours.flops_per_step,
        gflops: ours.flops_per_step as f64 / seconds / 1e9,
        peak_rss_mib: torch.peak_rss_mib,
        device_mib: torch.device_mib,
    };
    row(&torch.framework, &theirs, gemm);
    let memory = match (ours.device_mib, theirs.device_mib) {
        (Some(a), Some(b)) => format!("GPU memory {:.2}x", a / b),
        _ => format!("peak RSS {:.2}x", ours.peak_rss_mib / theirs.peak_rss_mib),
    };
    println!("  ratio tinyarch / PyTorch: tokens/s {:.2}x, {memory}", ours.tokens_per_s / theirs.tokens_per_s);
    ExitCode::SUCCESS
}

fn row(label: &str, r: &BenchResult, gemm: f64) {
    let share = if gemm.is_nan() { "-".to_string() } else { format!("{:.0}%", 100.0 * r.gflops / gemm) };
    let device = r.device_mib.map_or(String::new(), |m| format!(" {m:>8.0}"));
    println!(
        "  {label:<22} {:>9.1} {:>10.0} {:>8.1} {share:>10} {:>13.0}{device}",
        r.step_ms, r.tokens_per_s, r.gflops, r.peak_rss_mib
    );
}
