//! The `tinyarch` command line: a thin layer over the library.

/// `println!` that ignores a closed stdout (`tinyarch corpora | head`) instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod bench;
mod corpora;
mod experiment;
mod help;
mod output;
mod run;

use clap::{Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use std::path::PathBuf;
use std::process::ExitCode;
use tinyarch::ir::{self, Convention, Limits};
use tinyarch::{Diagnostics, Objective, Options, Registry};

#[derive(Parser)]
#[command(
    name = "tinyarch",
    version,
    about = "Compare small language-model architectures under a fixed compute budget",
    after_long_help = help::MAIN
)]
struct Cli {
    /// Colour in diagnostics: `auto` colours only a terminal and honours NO_COLOR.
    #[arg(long, value_enum, global = true, default_value_t = ColorArg::Auto)]
    color: ColorArg,
    /// Show only results and errors: no progress bars, progress lines or notes.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

/// The colour choice for diagnostics, set once from `--color`.
static COLOR: std::sync::OnceLock<ColorChoice> = std::sync::OnceLock::new();

impl ColorArg {
    fn choice(self) -> ColorChoice {
        use std::io::IsTerminal;
        match self {
            // termcolor's `Auto` honours NO_COLOR and TERM=dumb, but not a pipe or a file.
            ColorArg::Auto if std::io::stderr().is_terminal() => ColorChoice::Auto,
            ColorArg::Auto | ColorArg::Never => ColorChoice::Never,
            ColorArg::Always => ColorChoice::Always,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Check model files: shapes, parameters, FLOPs and memory, per layer.
    #[command(after_long_help = help::CHECK)]
    Check {
        /// Model files, or directories to search for them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        model: ModelArgs,
        /// The FLOP convention a budget would use.
        #[arg(long, value_enum, default_value_t = Flops::Exact)]
        flops: Flops,
        /// The objective whose computation is shown: what `run` trains and charges by default.
        #[arg(long, value_enum, default_value_t = ObjectiveArg::default())]
        objective: ObjectiveArg,
        /// Print a JSON array on stdout, one entry per file: its per-layer table and totals, a
        /// library's blocks, or its diagnostics.
        #[arg(long)]
        json: bool,
    },
    /// Print the compiled graph of a model.
    #[command(after_long_help = help::GRAPH)]
    Graph {
        /// The model file.
        file: PathBuf,
        #[command(flatten)]
        model: ModelArgs,
        /// `text` (what snapshot tests hold), `dot` (Graphviz) or `json`.
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
    },
    /// Train models until a FLOP budget, epochs, steps or time runs out, and evaluate them.
    #[command(after_long_help = help::RUN)]
    Run(run::RunArgs),
    /// Re-evaluate a saved run.
    #[command(after_long_help = help::EVAL)]
    Eval(run::EvalArgs),
    /// Generate text from a saved run.
    #[command(after_long_help = help::SAMPLE)]
    Sample(run::SampleArgs),
    /// Run an experiment file's cells (model x setting x budget x seed), each into its own folder.
    #[command(after_long_help = help::SWEEP)]
    Sweep(experiment::SweepArgs),
    /// Markdown tables and plots (SVG, PNG) over run and sweep folders.
    #[command(after_long_help = help::REPORT)]
    Report(experiment::ReportArgs),
    /// Time training steps of a model (tokens/s, GFLOP/s, peak memory), optionally beside PyTorch.
    #[command(after_long_help = help::BENCH)]
    Bench {
        /// The model file.
        file: PathBuf,
        #[command(flatten)]
        model: ModelArgs,
        /// Which positions the loss scores (the benchmark times every position by default).
        #[arg(long, value_enum, default_value_t = ObjectiveArg::All)]
        objective: ObjectiveArg,
        /// Timed training steps.
        #[arg(long, default_value_t = 10)]
        steps: usize,
        /// Untimed steps before them (allocation, caches).
        #[arg(long, default_value_t = 2)]
        warmup: usize,
        /// A Python with PyTorch: also time the PyTorch benchmark script on the same model.
        #[arg(long, value_name = "PYTHON")]
        pytorch: Option<PathBuf>,
        /// The PyTorch benchmark script; by default the copy built into tinyarch.
        #[arg(long, value_name = "SCRIPT")]
        pytorch_script: Option<PathBuf>,
        /// Where both frameworks train (`cuda` needs a CUDA build of tinyarch).
        #[arg(long, value_enum, default_value_t = run::DeviceArg::Cpu)]
        device: run::DeviceArg,
    },
    /// Format model files in the canonical layout (the book's "Editing .model files" has the rules).
    #[command(after_long_help = help::FMT)]
    Fmt {
        /// Model files, or directories to search for them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Change nothing; list the files that would change and exit with 1 if there are any.
        #[arg(long)]
        check: bool,
    },
    /// Run the language server for editors, over standard input and output.
    #[command(after_long_help = help::LSP)]
    Lsp,
    /// Print a completion script for a shell.
    #[command(after_long_help = help::COMPLETIONS)]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    #[command(after_long_help = help::MAN)]
    Man,
    /// List the corpora and their state, download one, or add your own text.
    #[command(after_long_help = help::CORPORA)]
    Corpora(corpora::CorporaArgs),
    /// List the registered layer kinds with their arguments.
    #[command(after_long_help = help::LAYERS)]
    Layers {
        /// Markdown, as in the book's layer reference.
        #[arg(long)]
        markdown: bool,
    },
}

/// What every command that compiles a model takes.
#[derive(clap::Args)]
pub struct ModelArgs {
    /// Vocabulary size.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub vocab: Option<u64>,
    /// Context length (the same as `--set context=N`).
    #[arg(long)]
    context: Option<u64>,
    /// Override a model parameter: `--set layers=4`.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Batch size the memory estimate assumes.
    #[arg(long, default_value_t = tinyarch::ir::DEFAULT_BATCH)]
    pub batch: u64,
    /// Largest training memory accepted, in GiB.
    #[arg(long, value_name = "GIB", default_value_t = 16.0, value_parser = positive_number)]
    max_memory: f64,
}

impl ModelArgs {
    fn options(&self) -> Options {
        let mut overrides = self.set.clone();
        if let Some(t) = self.context {
            overrides.push(format!("context={t}"));
        }
        Options { vocab: self.vocab, overrides }
    }

    fn limits(&self) -> Limits {
        Limits { batch: self.batch, max_memory: (self.max_memory * (1u64 << 30) as f64) as u64 }
    }

    fn compile(&self, file: &std::path::Path) -> Result<tinyarch::Checked, Diagnostics> {
        let graph = tinyarch::lang::resolve_file(file, &Registry::default(), &self.options())?;
        ir::check(graph, &self.limits())
    }
}

/// A finite number above 0, for flags such as `--max-memory` and `--budget`.
pub fn positive_number(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(_) => Err("must be a finite number above 0".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// `--flops`: how a budget is charged.
#[derive(Clone, Copy, ValueEnum)]
enum Flops {
    /// Matrix-product FLOPs of the graph tinyarch runs (pruned to the last position under `last`).
    Exact,
    /// The same count for the graph that computes every position, as the study's code does.
    Dense,
    /// Kaplan et al.: 6N per predicted token plus the attention context term.
    Kaplan,
    /// The study's estimate: 2 x parameters x context per sample.
    Paper,
}

impl From<Flops> for Convention {
    fn from(f: Flops) -> Convention {
        match f {
            Flops::Exact => Convention::Exact,
            Flops::Dense => Convention::Dense,
            Flops::Kaplan => Convention::Kaplan,
            Flops::Paper => Convention::Paper,
        }
    }
}

/// `--objective`, for every command that takes one.
#[derive(Clone, Copy, ValueEnum)]
pub enum ObjectiveArg {
    /// Only the token after the window (the study's).
    Last,
    /// Every position predicts its next token.
    All,
}

impl Default for ObjectiveArg {
    /// `run`'s default, and so `check`'s.
    fn default() -> ObjectiveArg {
        match Objective::default() {
            Objective::Last => ObjectiveArg::Last,
            Objective::All => ObjectiveArg::All,
        }
    }
}

impl From<ObjectiveArg> for Objective {
    fn from(o: ObjectiveArg) -> Self {
        match o {
            ObjectiveArg::Last => Objective::Last,
            ObjectiveArg::All => Objective::All,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Text,
    Dot,
    Json,
}

fn report(diagnostics: &Diagnostics) {
    let mut stderr = StandardStream::stderr(*COLOR.get().unwrap_or(&ColorChoice::Never));
    diagnostics.emit(&mut stderr);
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so printing into a closed pipe would panic; a command-line tool
    // should end quietly instead, as `head` expects.
    #[cfg(unix)]
    // SAFETY: called before any other thread exists; only sets a signal's disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let _ = COLOR.set(cli.color.choice());
    output::set_quiet(cli.quiet);
    match cli.command {
        Command::Check { files, model, flops, objective, json } => check(&files, &model, flops, objective, json),
        Command::Fmt { paths, check } => fmt(&paths, check),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "tinyarch", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man => {
            use clap::CommandFactory;
            match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: cannot write the manual page: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Lsp => match tinyarch_lsp::serve_stdio(Registry::default()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: the language server stopped: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Graph { file, model, format } => match model.compile(&file) {
            Ok(checked) => {
                let format = match format {
                    GraphFormat::Text => ir::Format::Text,
                    GraphFormat::Dot => ir::Format::Dot,
                    GraphFormat::Json => ir::Format::Json,
                };
                print!("{}", ir::render_graph(&checked, format));
                ExitCode::SUCCESS
            }
            Err(d) => {
                report(&d);
                ExitCode::FAILURE
            }
        },
        Command::Bench { file, model, objective, steps, warmup, pytorch, pytorch_script, device } => {
            if let Err(code) = run::require_device(device) {
                return code;
            }
            match model.compile(&file) {
                Ok(checked) => {
                    let options = bench::Options { objective: objective.into(), steps, warmup, device };
                    bench::run(checked, &model, &options, pytorch, pytorch_script.as_deref())
                }
                Err(d) => {
                    report(&d);
                    ExitCode::FAILURE
                }
            }
        }
        Command::Corpora(args) => corpora::run(args),
        Command::Run(args) => run::run(args),
        Command::Eval(args) => run::eval(args),
        Command::Sample(args) => run::sample(args),
        Command::Sweep(args) => experiment::sweep(args),
        Command::Report(args) => experiment::report(args),
        Command::Layers { markdown } => {
            let registry = Registry::default();
            if markdown {
                print!("{}", tinyarch::layers::reference::markdown(&registry));
            } else {
                print!("{}", tinyarch::layers::reference::text(&registry));
            }
            ExitCode::SUCCESS
        }
    }
}

/// One file's outcome in `tinyarch check --json`.
#[derive(serde::Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum CheckedFile {
    /// The model checks: its per-layer table and totals.
    Model { path: PathBuf, report: Box<ir::CheckReport> },
    /// A file of blocks only, found in a directory: a library for `use`.
    Library { path: PathBuf, blocks: Vec<String> },
    /// The file does not check.
    Error { path: PathBuf, diagnostics: Vec<tinyarch::diag::DiagnosticRecord> },
}

/// `tinyarch check`: a table per model file (or, with `json`, one JSON array); fails if any
/// file does not check.
fn check(paths: &[PathBuf], model: &ModelArgs, flops: Flops, objective: ObjectiveArg, json: bool) -> ExitCode {
    let files = match tinyarch::lang::model_files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot list model files: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut outcomes = Vec::new();
    for file in &files {
        let path = file.path.clone();
        if !json {
            if !outcomes.is_empty() {
                say!();
            }
            say!("{}", path.display());
        }
        // Found in a directory, a file of blocks only is a library for `use`.
        let library = if file.found_in_directory {
            tinyarch::lang::check_library(&file.path, &Registry::default()).transpose()
        } else {
            None
        };
        let outcome = match library {
            Some(Ok(blocks)) => CheckedFile::Library { path, blocks },
            Some(Err(d)) => CheckedFile::Error { path, diagnostics: diagnostics_out(&d, json) },
            None => match model.compile(&file.path) {
                Ok(checked) => CheckedFile::Model {
                    path,
                    report: Box::new(ir::check_report(&checked, flops.into(), objective.into())),
                },
                Err(d) => CheckedFile::Error { path, diagnostics: diagnostics_out(&d, json) },
            },
        };
        if !json {
            match &outcome {
                CheckedFile::Model { report, .. } => print!("{}", report.to_text()),
                CheckedFile::Library { blocks, .. } => {
                    say!("  library of {} blocks: {}", blocks.len(), blocks.join(", "))
                }
                // Printed as they were found.
                CheckedFile::Error { .. } => {}
            }
        }
        outcomes.push(outcome);
    }
    let failed = outcomes.iter().filter(|o| matches!(o, CheckedFile::Error { .. })).count();
    if json && output::json_document(&outcomes) != ExitCode::SUCCESS {
        return ExitCode::FAILURE;
    }
    if failed > 0 {
        eprintln!("error: {failed} of {} model files failed the check", files.len());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The diagnostics as records for `--json`; printed at once otherwise.
fn diagnostics_out(d: &Diagnostics, json: bool) -> Vec<tinyarch::diag::DiagnosticRecord> {
    if json {
        d.records()
    } else {
        report(d);
        Vec::new()
    }
}

/// `tinyarch fmt`: formats each file in place, or with `check` lists those that would change.
/// A file that does not parse is reported and left untouched.
fn fmt(paths: &[PathBuf], check: bool) -> ExitCode {
    let files = match tinyarch::lang::model_files(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot list model files: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (mut failed, mut changed) = (0, 0);
    for file in &files {
        let path = &file.path;
        let mut sources = tinyarch::diag::SourceMap::new();
        // The checker's reader: a regular UTF-8 file of bounded size, or a diagnostic that says why not.
        let id = match tinyarch::lang::read_model(path, &path.display().to_string(), &mut sources) {
            Ok(id) => id,
            Err(d) => {
                report(&Diagnostics { sources, errors: vec![d] });
                failed += 1;
                continue;
            }
        };
        let text = sources.text(id).to_string();
        let formatted = match tinyarch::lang::format::format_source(id, &text) {
            Ok(f) => f,
            Err(d) => {
                report(&Diagnostics { sources, errors: vec![d] });
                failed += 1;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        changed += 1;
        if check {
            println!("{}", path.display());
        } else if let Err(e) = write_replacing(path, &formatted) {
            eprintln!("error: cannot write `{}`: {e}", path.display());
            failed += 1;
        }
    }
    if failed > 0 {
        eprintln!("error: {failed} of {} model files could not be formatted", files.len());
        return ExitCode::FAILURE;
    }
    if check && changed > 0 {
        eprintln!("error: {changed} of {} model files are not formatted: run `tinyarch fmt` on them", files.len());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`.
fn write_replacing(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.fmt-{}", std::process::id()));
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every command, nested ones included, with its path (`corpora add`).
    fn commands(command: &clap::Command, path: String, out: &mut Vec<(String, clap::Command)>) {
        for sub in command.get_subcommands() {
            let name = format!("{path} {}", sub.get_name()).trim().to_string();
            out.push((name.clone(), sub.clone()));
            commands(sub, name, out);
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_examples_and_every_argument_a_description() {
        let mut all = Vec::new();
        commands(&Cli::command(), String::new(), &mut all);
        assert!(all.len() >= 16, "{} commands", all.len());
        for (name, command) in &all {
            let examples = command.get_after_long_help().map(|h| h.to_string()).unwrap_or_default();
            assert!(examples.starts_with("Examples:\n  tinyarch "), "`{name}` has no examples in its long help");
            assert!(command.get_about().is_some(), "`{name}` has no description");
            for arg in command.get_arguments().filter(|a| a.get_id() != "help" && a.get_id() != "version") {
                assert!(arg.get_help().is_some(), "`{name}`: argument `{}` has no description", arg.get_id());
            }
        }
    }

    #[test]
    fn the_main_help_lists_exit_codes_and_environment_variables() {
        let help = Cli::command().get_after_long_help().map(|h| h.to_string()).unwrap_or_default();
        for needle in [
            "Exit status:",
            "  0 ",
            "  1 ",
            "  2 ",
            "  3 ",
            "  130 ",
            "TINYARCH_DATA",
            "TINYARCH_CACHE",
            "TINYARCH_MIRROR",
            "NO_COLOR",
        ] {
            assert!(help.contains(needle), "the main help lacks `{needle}`");
        }
    }
}
