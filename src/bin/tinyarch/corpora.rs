//! `tinyarch corpora`: list the corpora and their state; `corpora fetch NAME`: download one;
//! `corpora add NAME`: make one from the user's text. Only printing lives here; the work is in
//! `tinyarch::data`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;
use tinyarch::data::{
    self, Catalog, DataError, FetchOutcome, FileState, Locator, NewCorpus, Origin, TextSource, TokenizerChoice,
};
use tinyarch::units::thousands;

use crate::output;

/// List the corpora (files, checksums, token counts, vocabularies), download one, or add one.
#[derive(clap::Args, Debug)]
pub struct CorporaArgs {
    /// What to do; without a command, list the corpora.
    #[command(subcommand)]
    pub command: Option<CorporaCommand>,
    /// Data directory searched first, before `$TINYARCH_DATA` and the user cache; `fetch` and
    /// `add` write into it instead of the cache.
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Print JSON on stdout: the listing, or what `fetch` or `add` did.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Subcommands of `tinyarch corpora`.
#[derive(clap::Subcommand, Debug)]
pub enum CorporaCommand {
    /// Download a corpus into the user cache (or `--data DIR`) and verify its checksums.
    ///
    /// `$TINYARCH_MIRROR` replaces the download URLs by `<mirror>/<corpus dir>/<file>`.
    #[command(after_long_help = crate::help::CORPORA_FETCH)]
    Fetch {
        /// The corpus (`tinyarch corpora` lists them).
        name: String,
    },
    /// Make a corpus from your own text: one file cut into splits, or a file per split.
    #[command(after_long_help = crate::help::CORPORA_ADD)]
    Add(AddArgs),
}

/// `tinyarch corpora add`.
#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// The new corpus's name, for `--corpus NAME`.
    name: String,
    /// One UTF-8 text file, cut into train, valid and test by `--split`.
    #[arg(long, value_name = "FILE", required_unless_present = "train", conflicts_with_all = ["train", "valid", "test"])]
    text: Option<PathBuf>,
    /// Train, valid and test fractions of `--text`, each cut at the next line end.
    #[arg(long, value_name = "TRAIN,VALID,TEST", default_value = "0.9,0.05,0.05", value_parser = fractions)]
    split: [f64; 3],
    /// The training split, as its own file (with `--valid`, and optionally `--test`).
    #[arg(long, value_name = "FILE", requires = "valid")]
    train: Option<PathBuf>,
    /// The validation split's file.
    #[arg(long, value_name = "FILE", requires = "train")]
    valid: Option<PathBuf>,
    /// The test split's file.
    #[arg(long, value_name = "FILE", requires = "train")]
    test: Option<PathBuf>,
    /// `char`: one token per character; `word`: the study's words (unknown ones become
    /// `<unk>`); `bpe`: byte-level BPE trained on the training split.
    #[arg(long, value_enum, default_value_t = TokenizerArg::Char)]
    tokenizer: TokenizerArg,
    /// The BPE vocabulary to train, bytes included (more than 256).
    #[arg(long, value_name = "N", conflicts_with = "from_tokenizer")]
    vocab_size: Option<usize>,
    /// Use this byte-level BPE instead of training one: a Hugging Face `tokenizer.json`, such as
    /// GPT-2's.
    #[arg(long, value_name = "TOKENIZER.JSON")]
    from_tokenizer: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum TokenizerArg {
    Char,
    Word,
    Bpe,
}

/// `0.9,0.05,0.05`.
fn fractions(text: &str) -> Result<[f64; 3], String> {
    let parts: Vec<&str> = text.split(',').collect();
    let [train, valid, test] = parts.as_slice() else {
        return Err("give three fractions: train,valid,test".into());
    };
    let number = |s: &str| s.trim().parse::<f64>().map_err(|e| format!("`{s}`: {e}"));
    Ok([number(train)?, number(valid)?, number(test)?])
}

/// Runs `tinyarch corpora`.
pub fn run(args: CorporaArgs) -> ExitCode {
    let locator = Locator::from_env(args.data.as_deref());
    let result = match &args.command {
        None => list(&locator, args.json),
        Some(CorporaCommand::Fetch { name }) => fetch(&locator, name, args.data.as_deref(), args.json),
        Some(CorporaCommand::Add(add_args)) => add(&locator, add_args, args.data.as_deref(), args.json),
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

/// `tinyarch corpora --json`.
#[derive(Serialize)]
struct Listing {
    /// Searched in this order.
    data_dirs: Vec<DataDirEntry>,
    corpora: Vec<CorpusEntry>,
}

#[derive(Serialize)]
struct DataDirEntry {
    path: PathBuf,
    /// `--data`, `$TINYARCH_DATA` or the user cache.
    origin: String,
    exists: bool,
}

#[derive(Serialize)]
struct CorpusEntry {
    name: String,
    description: String,
    license: Option<String>,
    /// The descriptor file; none for a built-in corpus.
    descriptor: Option<PathBuf>,
    /// `verified`, `missing`, `corrupt` or `error`.
    state: &'static str,
    files: Vec<FileEntry>,
    /// Vocabulary and tokens per split, for every split set and tokenizer.
    tokenizations: Vec<Tokenization>,
    /// Why the corpus is not usable, if it is not.
    error: Option<String>,
}

#[derive(Serialize)]
struct FileEntry {
    name: String,
    bytes: u64,
    /// `verified`, `missing`, `corrupt` or `error`.
    state: &'static str,
    path: Option<PathBuf>,
}

#[derive(Serialize)]
struct Tokenization {
    split_set: String,
    tokenizer: String,
    vocab_size: usize,
    tokens: BTreeMap<String, usize>,
}

impl Tokenization {
    fn of(c: &data::TokenCounts) -> Tokenization {
        Tokenization {
            split_set: c.split_set.clone(),
            tokenizer: c.tokenizer.clone(),
            vocab_size: c.vocab_size,
            tokens: c.splits.iter().map(|(s, n)| (s.name().to_string(), *n)).collect(),
        }
    }

    fn line(&self) -> String {
        let splits: Vec<String> = data::Split::ALL
            .iter()
            .filter_map(|s| self.tokens.get(s.name()).map(|n| format!("{s} {}", thousands(*n as u64))))
            .collect();
        format!(
            "split set `{}`, tokenizer `{}`: vocabulary {}; {} tokens",
            self.split_set,
            self.tokenizer,
            thousands(self.vocab_size as u64),
            splits.join(" / ")
        )
    }
}

fn listing(locator: &Locator) -> Result<Listing, DataError> {
    locator.check_dirs()?;
    let data_dirs = locator
        .dirs()
        .iter()
        .map(|d| DataDirEntry { path: d.path.clone(), origin: d.origin.to_string(), exists: d.path.is_dir() })
        .collect();
    let mut corpora = Vec::new();
    for (descriptor, origin) in catalog(locator)?.iter() {
        let status = data::inspect(descriptor, locator);
        let file_state = |state: &FileState| match state {
            FileState::Verified(_) => "verified",
            FileState::Corrupt(_) => "corrupt",
            FileState::Missing => "missing",
            FileState::Failed => "error",
        };
        let states: Vec<&str> = status.files.iter().map(|f| file_state(&f.state)).collect();
        let state = ["corrupt", "missing", "error"].into_iter().find(|s| states.contains(s)).unwrap_or("verified");
        let (tokenizations, counting_error) = match &status.counts {
            Ok(counts) => (counts.iter().map(Tokenization::of).collect(), None),
            Err(e) => (Vec::new(), Some(format!("cannot tokenize: {e}"))),
        };
        // One explanation is enough: the other files' say the same.
        let file_error = status.files.iter().find_map(|f| f.error.as_ref()).map(ToString::to_string);
        corpora.push(CorpusEntry {
            name: descriptor.name.clone(),
            description: descriptor.description.clone(),
            license: descriptor.license.clone(),
            descriptor: match origin {
                Origin::File(path) => Some(path.clone()),
                Origin::Builtin => None,
            },
            state,
            files: status
                .files
                .iter()
                .map(|f| FileEntry {
                    name: f.name.clone(),
                    bytes: f.bytes,
                    state: file_state(&f.state),
                    path: match &f.state {
                        FileState::Verified(p) | FileState::Corrupt(p) => Some(p.clone()),
                        FileState::Missing | FileState::Failed => None,
                    },
                })
                .collect(),
            tokenizations,
            error: counting_error.or(file_error),
        });
    }
    Ok(Listing { data_dirs, corpora })
}

fn list(locator: &Locator, json: bool) -> Result<ExitCode, DataError> {
    let listing = listing(locator)?;
    let code = if listing.corpora.iter().any(|c| c.state == "corrupt") { ExitCode::FAILURE } else { ExitCode::SUCCESS };
    if json {
        return Ok(if output::json_document(&listing) == ExitCode::SUCCESS { code } else { ExitCode::FAILURE });
    }
    say!("data directories, searched in this order:");
    for dir in &listing.data_dirs {
        let note = if dir.exists { "" } else { ", does not exist yet" };
        say!("  {}  (from {}{note})", dir.path.display(), dir.origin);
    }
    for c in &listing.corpora {
        say!();
        say!("{}  {}  {}", c.name, c.state, c.description);
        if let Some(path) = &c.descriptor {
            say!("  descriptor: {}", path.display());
        }
        if let Some(license) = &c.license {
            say!("  license: {license}");
        }
        for f in &c.files {
            let place = f.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            say!("  {:<20} {:>14} bytes  {:<8}  {place}", f.name, thousands(f.bytes), f.state);
        }
        for t in &c.tokenizations {
            say!("  {}", t.line());
        }
        if let Some(error) = &c.error {
            for line in error.lines() {
                say!("  | {line}");
            }
        }
    }
    Ok(code)
}

/// `tinyarch corpora fetch --json`: each file and what happened to it.
#[derive(Serialize)]
struct FetchedFile {
    name: String,
    path: PathBuf,
    bytes: u64,
    /// `downloaded` or `present`.
    outcome: &'static str,
}

fn fetch(locator: &Locator, name: &str, data_flag: Option<&Path>, json: bool) -> Result<ExitCode, DataError> {
    let catalog = catalog(locator)?;
    let descriptor = catalog.get(name)?;
    let notes = !json && !output::quiet();
    // Without `--data`, a corpus already verified anywhere on the search path needs nothing.
    if data_flag.is_none() {
        let found: Result<Vec<PathBuf>, DataError> =
            descriptor.files.iter().map(|f| locator.verify(descriptor, f)).collect();
        if let Ok(paths) = found {
            if json {
                let files: Vec<FetchedFile> = descriptor
                    .files
                    .iter()
                    .zip(paths)
                    .map(|(f, path)| FetchedFile { name: f.name.clone(), path, bytes: f.bytes, outcome: "present" })
                    .collect();
                return Ok(output::json_document(&files));
            }
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
    let mut fetched_files = Vec::new();
    for file in &descriptor.files {
        if notes {
            say!("{} ({} bytes)", file.name, thousands(file.bytes));
            if let Some(url) = data::file_url(descriptor, file, mirror.as_deref()) {
                say!("  from {url}");
            }
        }
        let fetched = data::fetch_file(descriptor, file, &dest, mirror.as_deref())?;
        let (word, outcome) = match fetched.outcome {
            FetchOutcome::AlreadyPresent => ("already present, verified", "present"),
            FetchOutcome::Downloaded => ("downloaded, verified", "downloaded"),
        };
        if !json {
            say!("  {word}: {}", fetched.path.display());
        }
        fetched_files.push(FetchedFile { name: file.name.clone(), path: fetched.path, bytes: fetched.bytes, outcome });
    }
    Ok(if json { output::json_document(&fetched_files) } else { ExitCode::SUCCESS })
}

/// `tinyarch corpora add --json`.
#[derive(Serialize)]
struct AddedCorpus {
    name: String,
    descriptor: PathBuf,
    dir: PathBuf,
    tokenizer: String,
    vocab_size: usize,
    tokens: BTreeMap<String, usize>,
}

fn add(locator: &Locator, args: &AddArgs, data_flag: Option<&Path>, json: bool) -> Result<ExitCode, DataError> {
    let source = match (&args.text, &args.train, &args.valid) {
        (Some(text), _, _) => TextSource::Text { path: text.clone(), fractions: args.split },
        (None, Some(train), Some(valid)) => {
            TextSource::Files { train: train.clone(), valid: valid.clone(), test: args.test.clone() }
        }
        // clap requires `--text`, or `--train` with `--valid`.
        _ => unreachable!("clap checks that a text source is given"),
    };
    let tokenizer = match args.tokenizer {
        TokenizerArg::Char => TokenizerChoice::Chars,
        TokenizerArg::Word => TokenizerChoice::Words,
        TokenizerArg::Bpe => match (&args.from_tokenizer, args.vocab_size) {
            (Some(path), _) => TokenizerChoice::BpeFile { path: path.clone() },
            (None, Some(vocab_size)) => TokenizerChoice::Bpe { vocab_size },
            (None, None) => {
                eprintln!("error: `--tokenizer bpe` needs `--vocab-size N` (to train one) or `--from-tokenizer FILE`");
                return Ok(ExitCode::from(2));
            }
        },
    };
    if args.from_tokenizer.is_some() && !matches!(args.tokenizer, TokenizerArg::Bpe) {
        eprintln!("error: `--from-tokenizer` goes with `--tokenizer bpe`");
        return Ok(ExitCode::from(2));
    }
    let new = NewCorpus { name: args.name.clone(), source, tokenizer };
    let folder = match data_flag {
        Some(d) => d.to_path_buf(),
        None => data::cache_dir().ok_or(DataError::NoCacheDir)?,
    };
    let added = data::add(&new, &folder, &catalog(locator)?)?;
    let tokenization = Tokenization::of(&added.counts);
    if json {
        return Ok(output::json_document(&AddedCorpus {
            name: added.descriptor.name.clone(),
            descriptor: added.descriptor_path.clone(),
            dir: added.dir.clone(),
            tokenizer: tokenization.tokenizer.clone(),
            vocab_size: tokenization.vocab_size,
            tokens: tokenization.tokens.clone(),
        }));
    }
    say!("added corpus `{}`: {}", added.descriptor.name, added.descriptor_path.display());
    say!("  {}", tokenization.line());
    if !output::quiet() {
        let data = data_flag.map(|d| format!(" --data {}", d.display())).unwrap_or_default();
        say!(
            "next: tinyarch run models/study/transformer.model --corpus {}{data} --max-steps 500",
            added.descriptor.name
        );
    }
    Ok(ExitCode::SUCCESS)
}
