//! `tinyarch sweep` and `tinyarch report`: argument handling and printing over
//! `tinyarch::experiment` and `tinyarch::report`.

use std::path::PathBuf;
use std::process::ExitCode;

use tinyarch::api;
use tinyarch::data::Locator;
use tinyarch::experiment::{self, CellOutcome, Experiment, ExperimentError, Shard};
use tinyarch::train::{Status, interrupt};

use super::report as report_diagnostics;
use super::run::DeviceArg;
use crate::output;

/// Run an experiment file's cells, each into its own folder.
#[derive(clap::Args)]
pub struct SweepArgs {
    /// An experiment file (`experiments/*.ron`).
    file: PathBuf,
    /// Run only shard I of N (0-based, as a job-array index): `--shard 0/4`.
    /// Cell i belongs to shard i mod N.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Where the cell folders go (`<out>/<corpus>/<cell>`); default `runs/<experiment file name>`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where to train: `cuda` needs a build with the `cuda` feature.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
    /// Data directory searched first, before `$TINYARCH_DATA` and the user cache.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// List the cells of this shard and what a sweep would do with each, without training.
    #[arg(long)]
    dry_run: bool,
    /// Plain progress lines every this many steps when stdout is not a terminal.
    #[arg(long, default_value_t = 200)]
    log_every: u64,
    /// Print the shard's records (trained now or before) as JSON lines on stdout; progress and
    /// the summary go to stderr.
    #[arg(long)]
    json: bool,
}

/// Tables and plots over run folders.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// Run or sweep folders (searched recursively for runs).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Where `report.md` and the plots go; default the first folder.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `tinyarch sweep`.
pub fn sweep(args: SweepArgs) -> ExitCode {
    if let Err(e) = interrupt::install() {
        eprintln!("warning: {e}; ctrl-c will stop without writing results");
    }
    let shard = match args.shard.as_deref().map(str::parse::<Shard>).transpose() {
        Ok(s) => s.unwrap_or(Shard::ALL),
        Err(e) => return fail(&e),
    };
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", args.file.display());
            return ExitCode::FAILURE;
        }
    };
    let experiment = match Experiment::parse(&text, &args.file.display().to_string()) {
        Ok(e) => e,
        Err(e) => return fail(&e),
    };
    let locator = Locator::from_env(args.data.as_deref());
    let base = args.file.parent().map(PathBuf::from).unwrap_or_default();
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("runs").join(args.file.file_stem().map(PathBuf::from).unwrap_or_else(|| "sweep".into()))
    });
    if args.dry_run {
        return dry_run(&experiment, &base, shard);
    }
    let (log_every, json) = (args.log_every, args.json);
    let mut observer = |cell: &experiment::Cell| {
        if !output::quiet() {
            note(json, &format!("== {}", cell.name()));
        }
        output::progress(log_every, json)
    };
    let summary =
        match experiment::sweep(&experiment, &text, &base, &locator, shard, &out, args.device.into(), &mut observer) {
            Ok(s) => s,
            Err(e) => return fail(&e),
        };
    let (mut ran, mut reused, mut skipped, mut diverged) = (0, 0, 0, 0);
    for (cell, outcome) in &summary.cells {
        match outcome {
            CellOutcome::Finished(r) => {
                reused += 1;
                if json {
                    output::json_line(r);
                }
            }
            CellOutcome::Ran(r) => {
                ran += 1;
                diverged += usize::from(r.status == Status::Diverged);
                if json {
                    output::json_line(r);
                }
            }
            CellOutcome::Skipped(why) => {
                skipped += 1;
                note(json, &format!("skipped {}: {why}", cell.name()));
            }
        }
    }
    note(
        json,
        &format!(
            "{ran} cells trained, {reused} already finished, {skipped} skipped{}; results under `{}`",
            if diverged > 0 { format!(", {diverged} diverged") } else { String::new() },
            out.display()
        ),
    );
    if summary.interrupted {
        eprintln!("interrupted: finished cells are kept; run the same command again to continue");
        return ExitCode::from(output::INTERRUPTED);
    }
    if !output::quiet() {
        note(json, &format!("next: tinyarch report {}", out.display()));
    }
    ExitCode::SUCCESS
}

/// A line for people: on stdout, or on stderr when stdout carries JSON.
fn note(json: bool, line: &str) {
    if json {
        eprintln!("{line}");
    } else {
        say!("{line}");
    }
}

fn dry_run(experiment: &Experiment, base: &std::path::Path, shard: Shard) -> ExitCode {
    let cells = match experiment::expand(experiment, base) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let mine: Vec<_> = cells.iter().enumerate().filter(|(i, _)| shard.contains(*i)).collect();
    println!("{} of {} cells in shard {}/{}:", mine.len(), cells.len(), shard.index, shard.count);
    for (i, cell) in mine {
        println!("{i:>4}  {}", cell.name());
    }
    ExitCode::SUCCESS
}

/// Prints an experiment error, with a model's diagnostics rendered in full.
fn fail(e: &ExperimentError) -> ExitCode {
    match e {
        ExperimentError::Cell { cell, source } => match source.as_ref() {
            api::Error::Model(d) => {
                report_diagnostics(d);
                eprintln!("error: {cell}: the model does not check");
            }
            other => eprintln!("error: {cell}: {other}"),
        },
        other => eprintln!("error: {other}"),
    }
    ExitCode::FAILURE
}

/// Runs `tinyarch report`.
pub fn report(args: ReportArgs) -> ExitCode {
    let out = args.out.clone().unwrap_or_else(|| args.dirs[0].clone());
    match tinyarch::report::write(&args.dirs, &out) {
        Ok((written, text)) => {
            print!("{text}");
            println!("wrote {} and {} plot files", written.table.display(), written.plots.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
