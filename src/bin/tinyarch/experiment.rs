//! `tinyarch sweep` and `tinyarch report`: argument handling and printing over
//! `tinyarch::experiment` and `tinyarch::report`.

use std::path::PathBuf;
use std::process::ExitCode;

use tinyarch::api;
use tinyarch::data::Locator;
use tinyarch::experiment::{self, CellOutcome, Experiment, ExperimentError, Shard};
use tinyarch::train::{Status, interrupt};
use tinyarch::units::clock;

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
    /// Time between checkpoints (besides those at each validation and on a stop).
    #[arg(long, value_name = "DURATION", value_parser = super::run::duration)]
    checkpoint_every: Option<std::time::Duration>,
    /// Print a Slurm job script instead of training: a job array of N tasks, one shard each, that
    /// saves and requeues itself before its time limit and goes on after a requeue.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    slurm: Option<u64>,
    /// The job script's time limit per task (`--time`, e.g. `2:00:00`); the partition's default
    /// without it.
    #[arg(long, value_name = "TIME", requires = "slurm", value_parser = slurm_time)]
    slurm_time: Option<String>,
    /// CPUs per task in the job script.
    #[arg(long, value_name = "N", default_value_t = 2, requires = "slurm")]
    slurm_cpus: u32,
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
    /// Copy the runs' records (settings, model text, results and curves; not weights) into
    /// `OUT/records`, and report from that copy: a report to commit with its evidence.
    #[arg(long, requires = "out")]
    keep_records: bool,
}

/// Runs `tinyarch sweep`.
pub fn sweep(args: SweepArgs) -> ExitCode {
    if let Some(every) = args.checkpoint_every {
        tinyarch::train::set_checkpoint_interval(every);
    }
    if let Err(e) = interrupt::install() {
        eprintln!("warning: {e}; a signal will stop without writing results");
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
    if !args.dry_run
        && let Err(code) = super::run::require_device(args.device)
    {
        return code;
    }
    let locator = Locator::from_env(args.data.as_deref());
    let base = args.file.parent().map(PathBuf::from).unwrap_or_default();
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("runs").join(args.file.file_stem().map(PathBuf::from).unwrap_or_else(|| "sweep".into()))
    });
    if args.dry_run {
        return dry_run(&experiment, &base, shard);
    }
    if let Some(tasks) = args.slurm {
        return match slurm_script(&args, &out, tasks) {
            Ok(script) => {
                print!("{script}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let (log_every, json) = (args.log_every, args.json);
    let started = std::time::Instant::now();
    let mut observer = |cell: &experiment::Cell, i: usize, n: usize| {
        if !output::quiet() {
            // The cells done so far say how long the rest will take.
            let eta = (i > 1).then(|| started.elapsed().mul_f64((n + 1 - i) as f64 / (i - 1) as f64));
            let eta = eta.map_or(String::new(), |d| format!(", about {} left", clock(d)));
            note(json, &format!("== cell {i} of {n}: {}{eta}", cell.name()));
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
            CellOutcome::Skipped(why) | CellOutcome::Busy(why) => {
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
        return output::interrupted();
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

/// A Slurm time (`2:00:00`, `1-12`, `90`): digits, `:` and `-` only, so that it cannot add
/// lines to the job script.
fn slurm_time(text: &str) -> Result<String, String> {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == ':' || c == '-') {
        Ok(text.to_string())
    } else {
        Err("write a Slurm time such as `2:00:00`, `90` (minutes) or `1-12` (days-hours)".into())
    }
}

/// An sbatch job array over the experiment's shards. Paths are made absolute, so the job runs
/// from any folder. Slurm sends USR1 to the job's shell two minutes before the time limit: it
/// stops tinyarch (which finishes its step, saves and exits 143) and requeues the task. A
/// requeue or preemption by Slurm sends TERM to every process of the job: tinyarch saves
/// likewise, and Slurm puts the task back. Either way the shard, started again, keeps its
/// finished cells and goes on.
fn slurm_script(args: &SweepArgs, out: &std::path::Path, tasks: u64) -> std::io::Result<String> {
    let absolute = |p: &std::path::Path| std::path::absolute(p);
    let quote = |p: &std::path::Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let exe = std::env::current_exe()?;
    let file = absolute(&args.file)?;
    let out = absolute(out)?;
    let name = args.file.file_stem().map_or("sweep".into(), |s| s.to_string_lossy().into_owned());
    let mut options = vec![
        format!("#SBATCH --job-name=tinyarch-{name}"),
        format!("#SBATCH --array=0-{}", tasks - 1),
        format!("#SBATCH --cpus-per-task={}", args.slurm_cpus),
        "#SBATCH --requeue".to_string(),
        "#SBATCH --signal=B:USR1@120".to_string(),
        format!("#SBATCH --output={}/slurm/%A_%a.out", out.display()),
        // A requeued task writes after its earlier attempts, instead of over them.
        "#SBATCH --open-mode=append".to_string(),
        format!("#SBATCH --chdir={}", std::env::current_dir()?.display()),
    ];
    if let Some(time) = &args.slurm_time {
        options.push(format!("#SBATCH --time={time}"));
    }
    let mut command = format!(
        "{} sweep {} --shard \"$SLURM_ARRAY_TASK_ID/{tasks}\" --out {} --device {}",
        quote(&exe),
        quote(&file),
        quote(&out),
        match args.device {
            DeviceArg::Cpu => "cpu",
            DeviceArg::Cuda => "cuda",
        }
    );
    if let Some(data) = &args.data {
        command.push_str(&format!(" --data {}", quote(&absolute(data)?)));
    }
    if let Some(every) = args.checkpoint_every {
        command.push_str(&format!(" --checkpoint-every {}s", every.as_secs().max(1)));
    }
    std::fs::create_dir_all(out.join("slurm"))?;
    Ok(format!(
        r#"#!/bin/bash
# Written by `tinyarch sweep --slurm {tasks}`: one array task per shard of {file}.
{options}

export RAYON_NUM_THREADS=$SLURM_CPUS_PER_TASK
self_requeue=0
# Before the time limit (USR1 reaches this shell only): stop tinyarch, which saves and exits
# 143, then requeue this task.
trap 'self_requeue=1; kill -TERM "$pid" 2>/dev/null' USR1
# A requeue, preemption or scancel: Slurm sends TERM to tinyarch too, so passing it on would be
# a second signal (which exits at once); just keep waiting while tinyarch saves.
trap ':' TERM

{command} &
pid=$!
wait "$pid"
status=$?
# A trap interrupts `wait`; wait again until tinyarch has saved and exited.
while kill -0 "$pid" 2>/dev/null; do
    wait "$pid"
    status=$?
done
if [ "$self_requeue" = 1 ]; then
    scontrol requeue "${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
fi
exit "$status"
"#,
        file = file.display(),
        options = options.join("\n"),
    ))
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
    let dirs = if args.keep_records {
        match tinyarch::report::keep_records(&args.dirs, &out) {
            Ok(records) => vec![records],
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        args.dirs.clone()
    };
    match tinyarch::report::write(&dirs, &out) {
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
