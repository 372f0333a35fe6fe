//! How long `check` takes over the whole zoo: parse, resolve and check every model in
//! `models/`, as `tinyarch check models/**/*.model` does. Run with `cargo bench --bench check`.

use std::path::Path;
use std::time::Instant;
use tinyarch::{Options, check_file};

fn main() {
    let files = tinyarch::lang::model_files(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("models")]).unwrap();
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
}
