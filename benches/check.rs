//! How long `check` takes: over the whole zoo (parse, resolve and check every model in
//! `models/`, as `tinyarch check models/**/*.model` does), and against model size, from 1,000
//! layers to the language's limit, to show the growth. Run with `cargo bench --bench check`.

use std::path::Path;
use std::time::Instant;
use tinyarch::{Options, check_file, check_source};

fn main() {
    let files: Vec<_> = tinyarch::lang::model_files(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("models")])
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    let options = Options::vocab(65);
    let check_all = || {
        for f in &files {
            check_file(f, &options).expect("the zoo checks");
        }
    };
    check_all(); // warm the page cache
    let rounds = 200;
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            check_all();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "check of {} zoo models: median {:.3} ms, min {:.3} ms, p95 {:.3} ms over {rounds} rounds",
        files.len(),
        times[rounds / 2],
        times[0],
        times[rounds * 95 / 100]
    );
    scaling();
}

/// Median seconds of `rounds` runs of `f`.
fn median(rounds: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[rounds / 2]
}

/// Check time against the number of layers: one flat scope of unlabelled layers (the naming's
/// worst case), each written on its own line, up to the language's layer limit.
fn scaling() {
    let options = Options::vocab(65);
    let mut previous: Option<(usize, f64)> = None;
    for layers in [1_000, 10_000, tinyarch::lang::MAX_NODES - 3] {
        let text = format!(
            "model flat(context = 16, d = 16) {{\n    embedding(dim = d)\n{}    head()\n}}\n",
            "    layer_norm()\n".repeat(layers)
        );
        let seconds = median(if layers > 10_000 { 5 } else { 21 }, || {
            check_source("flat.model", &text, &options).expect("the flat model checks");
        });
        let growth = previous
            .map(|(n, s)| format!(", x{:.1} for x{:.0} layers", seconds / s, layers as f64 / n as f64))
            .unwrap_or_default();
        println!(
            "check of {layers} layers: median {:.1} ms ({:.2} us per layer{growth})",
            seconds * 1e3,
            seconds * 1e6 / layers as f64
        );
        previous = Some((layers, seconds));
    }
}
