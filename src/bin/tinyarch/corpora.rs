//! `tinyarch corpora`: list the corpora and their state; `tinyarch corpora fetch NAME`:
//! download one. Only printing lives here; the work is in `tinyarch::data`.

use std::path::PathBuf;
use std::process::ExitCode;

use tinyarch::data::{self, Catalog, DataError, FetchOutcome, FileState, Locator, Origin};
use tinyarch::units::thousands;

/// `println!` that ignores a closed stdout (`tinyarch corpora | head`) instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// List the corpora (files, checksums, token counts, vocabularies) or download one.
#[derive(clap::Args, Debug)]
pub struct CorporaArgs {
    /// What to do; without a command, list the corpora.
    #[command(subcommand)]
    pub command: Option<CorporaCommand>,
    /// Data directory searched first, before `$TINYARCH_DATA` and the user cache; `fetch`
    /// downloads into it instead of the cache.
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

/// Subcommands of `tinyarch corpora`.
#[derive(clap::Subcommand, Debug)]
pub enum CorporaCommand {
    /// Download a corpus into the user cache (or `--data DIR`) and verify its checksums.
    ///
    /// `$TINYARCH_MIRROR` replaces the download URLs by `<mirror>/<corpus dir>/<file>`.
    Fetch {
        /// The corpus (`tinyarch corpora` lists them).
        name: String,
    },
}

/// Runs `tinyarch corpora`.
pub fn run(args: CorporaArgs) -> ExitCode {
    let locator = Locator::from_env(args.data.as_deref());
    let result = match &args.command {
        None => list(&locator),
        Some(CorporaCommand::Fetch { name }) => fetch(&locator, name, args.data.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn catalog(locator: &Locator) -> Result<Catalog, DataError> {
    Catalog::discover(locator.dirs().iter().map(|d| d.path.as_path()))
}

fn list(locator: &Locator) -> Result<ExitCode, DataError> {
    locator.check_dirs()?;
    say!("data directories, searched in this order:");
    for dir in locator.dirs() {
        let note = if dir.path.is_dir() { "" } else { ", does not exist yet" };
        say!("  {}  (from {}{note})", dir.path.display(), dir.origin);
    }
    let mut any_corrupt = false;
    for (descriptor, origin) in catalog(locator)?.iter() {
        let status = data::inspect(descriptor, locator);
        let files = &status.files;
        let state = if status.verified() {
            "verified"
        } else if files.iter().any(|f| matches!(f.state, FileState::Corrupt(_))) {
            any_corrupt = true;
            "corrupt"
        } else if files.iter().any(|f| matches!(f.state, FileState::Missing)) {
            "missing"
        } else {
            "error"
        };
        say!();
        say!("{}  {state}  {}", descriptor.name, descriptor.description);
        if let Origin::File(path) = origin {
            say!("  descriptor: {}", path.display());
        }
        if let Some(license) = &descriptor.license {
            say!("  license: {license}");
        }
        for f in files {
            let (word, place) = match &f.state {
                FileState::Verified(p) => ("verified", p.display().to_string()),
                FileState::Corrupt(p) => ("corrupt", p.display().to_string()),
                FileState::Missing => ("missing", String::new()),
                FileState::Failed => ("error", String::new()),
            };
            say!("  {:<20} {:>14} bytes  {word:<8}  {place}", f.name, thousands(f.bytes));
        }
        match &status.counts {
            Ok(counts) => {
                for c in counts {
                    let splits: Vec<String> =
                        c.splits.iter().map(|(s, n)| format!("{s} {}", thousands(*n as u64))).collect();
                    say!(
                        "  split set `{}`, tokenizer `{}`: vocabulary {}; {} tokens",
                        c.split_set,
                        c.tokenizer,
                        thousands(c.vocab_size as u64),
                        splits.join(" / ")
                    );
                }
            }
            Err(e) => say!("  cannot tokenize: {e}"),
        }
        if let Some(error) = files.iter().find_map(|f| f.error.as_ref()) {
            // One explanation is enough: the others say the same for other files.
            for line in error.to_string().lines() {
                say!("  | {line}");
            }
        }
    }
    Ok(if any_corrupt { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn fetch(locator: &Locator, name: &str, data_flag: Option<&std::path::Path>) -> Result<ExitCode, DataError> {
    let catalog = catalog(locator)?;
    let descriptor = catalog.get(name)?;
    // Without `--data`, a corpus already verified anywhere on the search path needs nothing.
    if data_flag.is_none() {
        let found: Result<Vec<PathBuf>, DataError> =
            descriptor.files.iter().map(|f| locator.verify(descriptor, f)).collect();
        if let Ok(paths) = found {
            say!("`{name}` is already available and verified:");
            for p in paths {
                say!("  {}", p.display());
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    let dest = match data_flag {
        Some(d) => d.to_path_buf(),
        None => data::cache_dir().ok_or(DataError::NoCacheDir)?,
    };
    let mirror = std::env::var(data::MIRROR_ENV).ok().filter(|m| !m.is_empty());
    for file in &descriptor.files {
        let url = data::file_url(descriptor, file, mirror.as_deref());
        say!("{} ({} bytes)", file.name, thousands(file.bytes));
        say!("  from {url}");
        let fetched = data::fetch_file(descriptor, file, &dest, mirror.as_deref())?;
        let what = match fetched.outcome {
            FetchOutcome::AlreadyPresent => "already present, verified",
            FetchOutcome::Downloaded => "downloaded, verified",
        };
        say!("  {what}: {}", fetched.path.display());
    }
    Ok(ExitCode::SUCCESS)
}
