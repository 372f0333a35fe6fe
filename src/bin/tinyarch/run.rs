//! `tinyarch run`, `tinyarch eval` and `tinyarch sample`: argument handling and printing over
//! the library API (`tinyarch::api`), which checks, builds, trains and restores.

// As in the library: errors are large but only built on the error path.
#![allow(clippy::result_large_err)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use tinyarch::Checked;
use tinyarch::api::{self, ModelSpec};
use tinyarch::backend::DeviceKind as Device;
use tinyarch::data::{self, Dataset, Locator, Sampler};
use tinyarch::train::{self, EvalProtocol, RunConfig, RunRecord, SampleConfig, Status, StopRules, interrupt};
use tinyarch::units::{human, thousands};

use super::{Flops, ObjectiveArg, report};

use crate::output;

/// Train models until a stopping rule ends them, evaluate them and print a table.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Model files, or directories to search for them.
    #[arg(required = true)]
    models: Vec<PathBuf>,
    /// The corpus (`tinyarch corpora` lists them).
    #[arg(long, required_unless_present = "text", conflicts_with = "text")]
    corpus: Option<String>,
    /// A UTF-8 text file to train on: added once as a corpus (characters, 90/5/5 split) named
    /// after the file and its checksum, in `--data DIR` or the user cache.
    #[arg(long, value_name = "FILE")]
    text: Option<PathBuf>,
    /// Training FLOPs per model, in the `--flops` convention (`1e13`).
    #[arg(long, value_parser = crate::positive_number, required_unless_present_any = ["epochs", "max_steps", "max_time", "config"])]
    budget: Option<f64>,
    /// Stop after this many epochs (passes over the training sampler's epoch).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    epochs: Option<u64>,
    /// Stop after this many optimizer steps.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_steps: Option<u64>,
    /// Stop training once this much time has passed since the start (`90s`, `10m`, `1h30m`);
    /// the weights are then validated, and the final evaluation follows.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    max_time: Option<std::time::Duration>,
    /// The convention the budget counts in.
    #[arg(long, value_enum, default_value_t = Flops::Exact)]
    flops: Flops,
    /// `last`: predict the token after each window (the study's); `all`: every position.
    #[arg(long, value_enum, default_value_t = ObjectiveArg::default())]
    objective: ObjectiveArg,
    /// Rows per batch.
    #[arg(long)]
    batch: Option<usize>,
    /// Peak learning rate.
    #[arg(long, value_parser = crate::positive_number)]
    lr: Option<f64>,
    /// Seeds initialisation and data order.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Override a model parameter: `--set layers=4`.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Base run settings in RON (see `run.ron` in any run folder); flags given override them.
    #[arg(long, value_name = "RUN.RON")]
    config: Option<PathBuf>,
    /// Where to train: `cuda` needs a build with the `cuda` feature.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
    /// Where run folders go: `<out>/<corpus>/<model>-<limits>-s<seed>-<identity>`, the identity
    /// a hash of the model source, the settings, the data and the device kind.
    #[arg(long, default_value = "runs")]
    out: PathBuf,
    /// Data directory searched first, before `$TINYARCH_DATA` and the user cache.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Plain progress lines every this many steps when stdout is not a terminal.
    #[arg(long, default_value_t = 50)]
    log_every: u64,
    /// Print each run's record as a line of JSON on stdout instead of the table; progress goes
    /// to stderr.
    #[arg(long)]
    json: bool,
    /// Time between checkpoints (besides those at each validation and on a stop): at most this
    /// much training is lost if the process is killed.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration)]
    checkpoint_every: std::time::Duration,
    /// Train a run again from its start although its folder holds it finished, or a checkpoint
    /// to go on from.
    #[arg(long)]
    restart: bool,
}

/// Re-evaluate a run folder's saved weights.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// A run folder written by `tinyarch run`.
    dir: PathBuf,
    /// The corpus to evaluate on (its tokenizer must give the checkpoint's vocabulary).
    #[arg(long)]
    corpus: String,
    /// Evaluate whole splits instead of the run's protocol.
    #[arg(long)]
    full: bool,
    /// Where to evaluate: `cuda` needs a build with the `cuda` feature.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
    /// Data directory searched first, before `$TINYARCH_DATA` and the user cache.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

/// Generate text from a run folder's saved weights.
#[derive(clap::Args)]
pub struct SampleArgs {
    /// A run folder written by `tinyarch run`.
    dir: PathBuf,
    /// Text the sample continues (encoded with the run's tokenizer).
    #[arg(long, default_value = "")]
    prompt: String,
    /// Tokens to generate, printed as they are drawn (at most 1,000,000).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=train::MAX_SAMPLE_TOKENS as u64))]
    tokens: u64,
    /// 0 picks the most likely token every time.
    #[arg(long, default_value_t = 1.0)]
    temperature: f64,
    /// Draw only among the K most likely tokens.
    #[arg(long)]
    top_k: Option<usize>,
    /// Seeds the draws: the same seed gives the same text.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to generate: `cuda` needs a build with the `cuda` feature.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
    /// Data directory searched first, before `$TINYARCH_DATA` and the user cache.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum DeviceArg {
    Cpu,
    Cuda,
}

impl From<DeviceArg> for Device {
    fn from(d: DeviceArg) -> Device {
        match d {
            DeviceArg::Cpu => Device::Cpu,
            DeviceArg::Cuda => Device::Cuda(0),
        }
    }
}

/// The exit status when the device asked for cannot be used here.
pub const DEVICE_UNAVAILABLE: u8 = 3;

/// Checks that `device` is usable before any work: no CUDA in this build, no driver or no GPU
/// is an error with exit status 3.
pub fn require_device(device: DeviceArg) -> Result<(), ExitCode> {
    tinyarch::backend::device_available(device.into()).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(if e.is_device_unavailable() { DEVICE_UNAVAILABLE } else { 1 })
    })
}

/// Runs `tinyarch run`.
pub fn run(args: RunArgs) -> ExitCode {
    if let Err(code) = require_device(args.device) {
        return code;
    }
    train::set_checkpoint_interval(args.checkpoint_every);
    if let Err(e) = interrupt::install() {
        eprintln!("warning: {e}; a signal will stop without writing results");
    }
    let locator = Locator::from_env(args.data.as_deref());
    let base = match &args.config {
        Some(path) => match api::read_config(path) {
            Ok(c) => Some(c),
            Err(e) => return fail(e),
        },
        None => None,
    };
    let split_set = base.as_ref().and_then(|c| c.split_set.clone());
    let tokenizer = base.as_ref().and_then(|c| c.tokenizer.clone());
    let corpus = match (&args.corpus, &args.text) {
        (Some(corpus), _) => corpus.clone(),
        (None, Some(text)) => match text_corpus(text, &locator, args.data.as_deref()) {
            Ok(name) => name,
            Err(e) => return fail(e),
        },
        // clap requires `--corpus` or `--text`.
        (None, None) => unreachable!("clap checks that a corpus is given"),
    };
    let dataset = match data::load(&corpus, &locator, split_set.as_deref(), tokenizer.as_deref()) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let is_chars = !dataset.tokenizer.is_words();
    let files = match tinyarch::lang::model_files(&args.models) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot list model files: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut records = Vec::new();
    let mut failed = 0;
    for file in &files {
        // A block-only file found in a directory is a library for `use`, not a model to train.
        if file.found_in_directory
            && matches!(tinyarch::lang::check_library(&file.path, &tinyarch::Registry::default()), Ok(Some(_)))
        {
            continue;
        }
        let file = &file.path;
        match run_one(&args, base.as_ref(), &dataset, is_chars, file) {
            Ok(record) => {
                let stop = record.status == Status::Interrupted;
                if record.status == Status::Diverged {
                    failed += 1;
                }
                records.push(record);
                if stop {
                    break;
                }
            }
            Err(e) => {
                failed += 1;
                if let Some(e) = e {
                    eprintln!("error: {}: {e}", file.display());
                }
            }
        }
    }
    if !records.is_empty() && !args.json {
        say!();
        print!("{}", table(&records));
    }
    if records.iter().any(|r| r.status == Status::Interrupted) {
        eprintln!(
            "interrupted: the finished runs and the interrupted one's progress are saved under `{}`",
            args.out.display()
        );
        return output::interrupted();
    }
    if failed > 0 {
        eprintln!("error: {failed} of {} models did not complete", files.len());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// One model: check, build, train. `Err(None)`: diagnostics were already printed.
fn run_one(
    args: &RunArgs,
    base: Option<&RunConfig>,
    dataset: &Dataset,
    is_chars: bool,
    file: &Path,
) -> Result<RunRecord, Option<Box<dyn std::fmt::Display>>> {
    let batch = args.batch.or(base.map(|c| c.batch)).unwrap_or(tinyarch::ir::DEFAULT_BATCH as usize);
    let spec = ModelSpec::file(file).with_overrides(args.set.clone());
    // Checked first for the context, which the settings take from the model.
    let checked = spec.check(dataset.vocab_size(), batch).map_err(|d| {
        report(&d);
        None
    })?;
    let config = run_config(args, base, dataset, is_chars, &checked, batch);
    let source = spec.source(&checked).map_err(api_error)?;
    let identity = api::run_identity(&source, &config, dataset, args.device.into()).map_err(api_error)?;
    let dir = args.out.join(&dataset.corpus).join(api::run_name(&checked.graph.name, &config, &identity));
    // One trainer per folder: the same command started twice does not train one run twice.
    let _lock = match train::RunLock::acquire(&dir) {
        Ok(Ok(lock)) => lock,
        Ok(Err(held)) => {
            let who = held.pid.map_or("another process".to_string(), |pid| format!("process {pid}"));
            let message = format!("{who} is training `{}`; wait for it, or stop it", dir.display());
            return Err(Some(Box::new(message)));
        }
        Err(e) => return Err(Some(Box::new(e))),
    };
    match api::previous_run(&dir, &source, &config).map_err(api_error)? {
        api::Previous::Finished(record) if !args.restart => {
            if !output::quiet() {
                eprintln!("{}: finished earlier in `{}` (`--restart` trains it again)", record.model, dir.display());
            }
            if args.json {
                output::json_line(&record);
            }
            return Ok(*record);
        }
        api::Previous::Nothing => {}
        // Stopped with a checkpoint: training goes on from it, to the same end.
        api::Previous::Unfinished if !args.restart && dir.join(train::RESUME_FILE).is_file() => {
            if !output::quiet() {
                eprintln!("{}: going on from the checkpoint in `{}`", checked.graph.name, dir.display());
            }
        }
        // What a run left without a checkpoint is not a start to build on: begin again cleanly.
        api::Previous::Finished(_) | api::Previous::Unfinished => {
            std::fs::remove_dir_all(&dir).map_err(|e| {
                Some(Box::new(format!("cannot clear `{}`: {e}", dir.display())) as Box<dyn std::fmt::Display>)
            })?;
        }
    }
    if !output::quiet() {
        eprintln!("{}: run folder `{}`", checked.graph.name, dir.display());
    }
    let mut progress = output::progress(args.log_every, args.json);
    let record = api::train(&spec, dataset, &config, args.device.into(), &dir, progress.as_mut()).map_err(api_error)?;
    if args.json {
        output::json_line(&record);
    }
    Ok(record)
}

/// The corpus of `run --text FILE`: added on first use (characters, 90/5/5), then reused while
/// the file is unchanged.
fn text_corpus(path: &Path, locator: &Locator, data_flag: Option<&Path>) -> Result<String, data::DataError> {
    let bytes =
        std::fs::read(path).map_err(|source| data::DataError::Io { action: "read", path: path.into(), source })?;
    let name = data::text_corpus_name(path, &bytes);
    let catalog = data::Catalog::discover(locator.dirs().iter().map(|d| d.path.as_path()))?;
    if catalog.get(&name).is_ok() {
        return Ok(name);
    }
    let folder = match data_flag {
        Some(d) => d.to_path_buf(),
        None => data::cache_dir().ok_or(data::DataError::NoCacheDir)?,
    };
    let new = data::NewCorpus {
        name: name.clone(),
        source: data::TextSource::Text { path: path.to_path_buf(), fractions: [0.9, 0.05, 0.05] },
        tokenizer: data::TokenizerChoice::Chars,
    };
    let added = data::add(&new, &folder, &catalog)?;
    if !output::quiet() {
        eprintln!("added `{}` as corpus `{name}`: {}", path.display(), added.descriptor_path.display());
    }
    Ok(name)
}

/// Prints diagnostics now; other errors go to the caller.
fn api_error(e: api::Error) -> Option<Box<dyn std::fmt::Display>> {
    match e {
        api::Error::Model(d) => {
            report(&d);
            None
        }
        e => Some(Box::new(e)),
    }
}

/// Settings from the flags over `base` (a `--config` file) over the study's defaults.
fn run_config(
    args: &RunArgs,
    base: Option<&RunConfig>,
    dataset: &Dataset,
    is_chars: bool,
    checked: &Checked,
    batch: usize,
) -> RunConfig {
    let context = checked.graph.context.size as usize;
    let mut c = base.cloned().unwrap_or_else(|| RunConfig::new(&dataset.corpus, 0.0, context));
    c.corpus = dataset.corpus.clone();
    c.split_set = Some(dataset.split_set.clone());
    c.tokenizer = Some(dataset.tokenizer_name.clone());
    c.overrides = args.set.clone();
    // Limits on the command line replace those of `--config` together.
    if args.budget.is_some() || args.epochs.is_some() || args.max_steps.is_some() || args.max_time.is_some() {
        c.budget = args.budget;
        c.stop = StopRules {
            epochs: args.epochs,
            max_steps: args.max_steps,
            max_time: args.max_time.map(|t| t.as_secs_f64()),
        };
    }
    c.context = context;
    c.batch = batch;
    c.convention = args.flops.into();
    c.seed = args.seed;
    if let Some(lr) = args.lr {
        c.optimizer.lr = lr;
    }
    c.objective = args.objective.into();
    if base.is_none() {
        (c.train, c.eval) = RunConfig::default_protocols(c.objective, is_chars);
    }
    c
}

/// Rebuilds a run folder for `dataset`'s vocabulary, printing any error.
fn restore(dir: &Path, dataset: &Dataset, device: DeviceArg) -> Result<api::Restored, ExitCode> {
    api::restore(dir, dataset.vocab_size(), device.into()).map_err(|e| {
        if let Some(e) = api_error(e) {
            eprintln!("error: {e}");
        }
        ExitCode::FAILURE
    })
}

/// Runs `tinyarch eval`.
pub fn eval(args: EvalArgs) -> ExitCode {
    if let Err(code) = require_device(args.device) {
        return code;
    }
    let _ = interrupt::install();
    let locator = Locator::from_env(args.data.as_deref());
    let config = match api::read_config(&args.dir.join(train::CONFIG_FILE)) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    // Another corpus is evaluated with its default split set and tokenizer.
    let same = config.corpus == args.corpus;
    let dataset = match data::load(
        &args.corpus,
        &locator,
        if same { config.split_set.as_deref() } else { None },
        if same { config.tokenizer.as_deref() } else { None },
    ) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let mut restored = match restore(&args.dir, &dataset, args.device) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mut config = restored.config.clone();
    config.corpus = dataset.corpus.clone();
    if args.full {
        config.eval = EvalProtocol::Full;
        config.max_eval_batches = None;
    }
    say!(
        "{} on {} ({}, {}), {:?} windows:",
        args.dir.display(),
        dataset.corpus,
        dataset.split_set,
        dataset.tokenizer_name,
        config.eval
    );
    say!("| split | nll | perplexity | bits/token | targets |");
    say!("|---|---:|---:|---:|---:|");
    for (name, tokens) in [("valid", Some(&dataset.valid)), ("test", dataset.test.as_ref())] {
        let Some(tokens) = tokens else { continue };
        let sampler = match Sampler::new(tokens, config.eval_sampler()) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        let Some(e) = train::evaluate(restored.model.as_mut(), &sampler, config.max_eval_batches) else {
            eprintln!("interrupted");
            return output::interrupted();
        };
        let nll = e.nll(config.average);
        let (ppl, bits) = RunRecord::derived(Some(nll));
        say!(
            "| {name} | {nll:.4} | {:.2} | {:.4} | {} |",
            ppl.unwrap_or(f64::NAN),
            bits.unwrap_or(f64::NAN),
            thousands(e.targets)
        );
    }
    ExitCode::SUCCESS
}

/// Runs `tinyarch sample`.
pub fn sample(args: SampleArgs) -> ExitCode {
    if let Err(code) = require_device(args.device) {
        return code;
    }
    let locator = Locator::from_env(args.data.as_deref());
    let config = match api::read_config(&args.dir.join(train::CONFIG_FILE)) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let dataset = match data::load(&config.corpus, &locator, config.split_set.as_deref(), config.tokenizer.as_deref()) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let prompt = match dataset.tokenizer.encode(&args.prompt) {
        Ok(t) => t.to_vec(),
        Err(data::UnknownToken(word)) => {
            eprintln!("error: the prompt's token `{word}` is not in the vocabulary of `{}`", config.corpus);
            return ExitCode::FAILURE;
        }
    };
    let mut restored = match restore(&args.dir, &dataset, args.device) {
        Ok(r) => r,
        Err(code) => return code,
    };
    // A newline is the natural left padding for a short prompt.
    let pad = dataset.tokenizer.encode("\n").ok().and_then(|t| t.get(0)).unwrap_or(0);
    let settings = SampleConfig {
        tokens: args.tokens as usize,
        temperature: args.temperature,
        top_k: args.top_k,
        seed: args.seed,
        pad,
    };
    // Each token is printed as it is drawn.
    let mut stdout = std::io::stdout().lock();
    let _ = write!(stdout, "{}", args.prompt);
    let mut decoder = dataset.tokenizer.decoder();
    let mut text = String::new();
    let mut emit = |id: u32| {
        text.clear();
        decoder.push(id, &mut text);
        let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
    };
    let outcome = train::generate_each(restored.model.as_mut(), &prompt, restored.context, &settings, &mut emit);
    let _ = writeln!(std::io::stdout());
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// A positive time: `90s`, `10m`, `1h30m`, `2h`.
pub fn duration(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be longer than 0".into()),
        Err(e) => Err(format!("{e} (write e.g. `90s`, `10m` or `1h30m`)")),
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

/// The results as a Markdown table.
fn table(records: &[RunRecord]) -> String {
    let nll = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
    let mut out = String::from(
        "| model | params | steps | FLOPs used | train NLL | valid NLL | test NLL | perplexity | bits/token | tokens/s | wall | status |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in records {
        let used = r.flops_used.get(r.convention);
        out.push_str(&format!(
            "| {} | {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} | {:.1} s | {} |\n",
            r.model,
            thousands(r.params),
            thousands(r.steps),
            u64::try_from(used).map_or_else(|_| format!("{:.2e}", used as f64), human),
            r.convention,
            nll(r.train_nll),
            nll(r.valid_nll),
            nll(r.test_nll),
            r.perplexity.map_or("-".to_string(), |p| format!("{p:.2}")),
            nll(r.bits_per_token),
            thousands(r.tokens_per_second as u64),
            r.wall_seconds,
            match r.stopped_by {
                Some(rule) => format!("{} ({rule})", r.status.name()),
                None => r.status.name().to_string(),
            },
        ));
    }
    out
}
