//! The `tinyarch` command line: a thin layer over the library.

mod bench;
mod corpora;
mod experiment;
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
    about = "Compare small language-model architectures under a fixed compute budget"
)]
struct Cli {
    /// Colour in diagnostics: `auto` colours only a terminal and honours NO_COLOR.
    #[arg(long, value_enum, global = true, default_value_t = ColorArg::Auto)]
    color: ColorArg,
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
    },
    /// Print the compiled graph of a model.
    Graph {
        file: PathBuf,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
    },
    /// Train models under one FLOP budget and evaluate them.
    Run(run::RunArgs),
    /// Re-evaluate a saved run.
    Eval(run::EvalArgs),
    /// Generate text from a saved run.
    Sample(run::SampleArgs),
    /// Run an experiment file's cells (model x setting x budget x seed), each into its own folder.
    Sweep(experiment::SweepArgs),
    /// Markdown tables and plots (SVG, PNG) over run and sweep folders.
    Report(experiment::ReportArgs),
    /// Time training steps of a model (tokens/s, GFLOP/s, peak memory), optionally beside PyTorch.
    Bench {
        file: PathBuf,
        #[command(flatten)]
        model: ModelArgs,
        /// Which positions the loss scores (the benchmark times every position by default).
        #[arg(long, value_enum, default_value_t = ObjectiveArg::All)]
        objective: ObjectiveArg,
        #[arg(long, default_value_t = 10)]
        steps: usize,
        #[arg(long, default_value_t = 2)]
        warmup: usize,
        /// A Python with PyTorch: also time `tools/bench/pytorch_bench.py` on the same model.
        #[arg(long, value_name = "PYTHON")]
        pytorch: Option<PathBuf>,
        #[arg(long, default_value = "tools/bench/pytorch_bench.py")]
        pytorch_script: PathBuf,
    },
    /// Format model files in the canonical layout (the book's "Editing .model files" has the rules).
    Fmt {
        /// Model files, or directories to search for them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Change nothing; list the files that would change and exit with 1 if there are any.
        #[arg(long)]
        check: bool,
    },
    /// Run the language server for editors, over standard input and output.
    Lsp,
    /// Print a completion script for a shell: `tinyarch completions bash > /etc/bash_completion.d/tinyarch`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `tinyarch man > tinyarch.1`.
    Man,
    /// List the corpora and their state, or download one.
    Corpora(corpora::CorporaArgs),
    /// List the registered layer kinds with their arguments.
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

#[derive(Clone, Copy, ValueEnum)]
enum Flops {
    Exact,
    Kaplan,
    Paper,
}

impl From<Flops> for Convention {
    fn from(f: Flops) -> Convention {
        match f {
            Flops::Exact => Convention::Exact,
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
    match cli.command {
        Command::Check { files, model, flops, objective } => {
            let files = match tinyarch::lang::model_files(&files) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("error: cannot list model files: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let mut failed = 0;
            for (i, file) in files.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                println!("{}", file.path.display());
                // Found in a directory, a file of blocks only is a library for `use`.
                if file.found_in_directory {
                    match tinyarch::lang::check_library(&file.path, &Registry::default()) {
                        Ok(Some(blocks)) => {
                            println!("  library of {} blocks: {}", blocks.len(), blocks.join(", "));
                            continue;
                        }
                        Ok(None) => {}
                        Err(d) => {
                            failed += 1;
                            report(&d);
                            continue;
                        }
                    }
                }
                match model.compile(&file.path) {
                    Ok(checked) => print!("{}", ir::check_table(&checked, flops.into(), objective.into())),
                    Err(d) => {
                        failed += 1;
                        report(&d);
                    }
                }
            }
            if failed > 0 {
                eprintln!("error: {failed} of {} model files failed the check", files.len());
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
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
        Command::Bench { file, model, objective, steps, warmup, pytorch, pytorch_script } => {
            match model.compile(&file) {
                Ok(checked) => bench::run(checked, &model, objective.into(), steps, warmup, pytorch, &pytorch_script),
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
