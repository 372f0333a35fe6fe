//! The one error type of the data layer.
//!
//! Each message states the problem on its first line (lowercase, no final period, identifiers in
//! backticks) and says what to do on a following `help:` line, so the CLI can print it as is.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong while finding, verifying, fetching, tokenizing or sampling data.
#[derive(Debug, Error)]
pub enum DataError {
    /// A corpus name that no descriptor defines.
    #[error(
        "unknown corpus `{name}`{}\nhelp: known corpora: {}",
        did_you_mean(suggestion.as_deref()),
        backticked(known)
    )]
    UnknownCorpus {
        /// The name asked for.
        name: String,
        /// The closest known name, when one is close.
        suggestion: Option<String>,
        /// Every known corpus name.
        known: Vec<String>,
    },

    /// A descriptor that is not valid RON for the descriptor types.
    #[error(
        "malformed corpus descriptor {origin}:{line}:{column}: {message}\n{snippet}help: descriptors follow the format of the built-in ones in `core/corpora/*.ron`"
    )]
    DescriptorSyntax {
        /// Where the descriptor came from (a path, or `built-in NAME`).
        origin: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser expected.
        message: String,
        /// The offending source line with a caret under the column (empty if unavailable).
        snippet: String,
    },

    /// A descriptor that parses but does not make sense (a split naming an unknown file, ...).
    #[error("invalid corpus descriptor {origin}: {message}\nhelp: {help}")]
    DescriptorInvalid {
        /// Where the descriptor came from.
        origin: String,
        /// The problem.
        message: String,
        /// How to fix it.
        help: String,
    },

    /// A split set or tokenizer name that the corpus does not define.
    #[error(
        "corpus `{corpus}` has no {what} `{name}`{}\nhelp: its {what}s are: {}",
        did_you_mean(suggestion.as_deref()),
        backticked(known)
    )]
    UnknownName {
        /// The corpus.
        corpus: String,
        /// `split set` or `tokenizer`.
        what: &'static str,
        /// The name asked for.
        name: String,
        /// The closest known name, when one is close.
        suggestion: Option<String>,
        /// The names the corpus defines.
        known: Vec<String>,
    },

    /// A data directory given explicitly (`--data` or `$TINYARCH_DATA`) that does not exist.
    #[error(
        "data directory `{}` (from {origin}) does not exist\nhelp: point {origin} at the folder that holds the corpus folders, e.g. `ptb/ptb.train.txt`",
        path.display()
    )]
    DataDirMissing {
        /// The directory.
        path: PathBuf,
        /// Where it came from: `--data`, `$TINYARCH_DATA`, ...
        origin: String,
    },

    /// A corpus file found in none of the data directories.
    #[error(
        "corpus `{corpus}`: file `{file}` not found\n{}help: download it with `tinyarch corpora fetch {corpus}`, or put it at `<data dir>/{file}`",
        searched_list(searched)
    )]
    MissingFile {
        /// The corpus.
        corpus: String,
        /// The file, relative to a data directory (`ptb/ptb.train.txt`).
        file: String,
        /// Every place looked at, each with where that directory came from.
        searched: Vec<Searched>,
    },

    /// A file whose SHA-256 is not the descriptor's: corrupt, truncated or a different version.
    #[error(
        "checksum mismatch for `{}`{}\n  expected sha256 {expected}\n  actual   sha256 {actual}\nhelp: the file is corrupt or a different version; delete it and run `tinyarch corpora fetch {corpus}`",
        path.display(),
        size_note(*expected_bytes, *actual_bytes)
    )]
    ChecksumMismatch {
        /// The corpus.
        corpus: String,
        /// The file (or the download's temporary file).
        path: PathBuf,
        /// The descriptor's hash.
        expected: String,
        /// The file's hash.
        actual: String,
        /// The descriptor's size in bytes.
        expected_bytes: u64,
        /// The file's size in bytes.
        actual_bytes: u64,
    },

    /// A file system operation that failed.
    #[error("cannot {action} `{}`: {source}\nhelp: check that the path exists and is readable", path.display())]
    Io {
        /// What was being done (`read`, `create`, ...).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A corpus file that a tokenizer needs as text but that is not UTF-8.
    #[error(
        "`{}` is not valid UTF-8 at byte {offset}\nhelp: word and character tokenizers read UTF-8 text",
        path.display()
    )]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },

    /// A byte-range split that cuts a multi-byte character.
    #[error(
        "corpus `{corpus}`: split `{split}` boundary {offset} of `{file}` falls inside a UTF-8 character\nhelp: move the boundary in the descriptor to a character boundary"
    )]
    SplitNotOnCharBoundary {
        /// The corpus.
        corpus: String,
        /// The split (`train`, ...).
        split: String,
        /// The file.
        file: String,
        /// The offending byte offset.
        offset: u64,
    },

    /// A word in a validation or test split that the training vocabulary lacks.
    #[error(
        "corpus `{corpus}`: word `{word}` in split `{split}` is not in the training vocabulary\nhelp: set `unk` in the tokenizer of the descriptor to map unknown words to a token"
    )]
    OutOfVocabulary {
        /// The corpus.
        corpus: String,
        /// The split.
        split: String,
        /// The word.
        word: String,
    },

    /// A download that failed before its checksum could be checked.
    #[error("cannot download `{url}`: {message}\nhelp: {help}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
        /// What to do.
        help: String,
    },

    /// A download whose bytes do not match the descriptor (nothing is kept).
    #[error(
        "downloaded `{url}` does not match its checksum{}\n  expected sha256 {expected}\n  actual   sha256 {actual}\nhelp: nothing was saved; try again, or point `$TINYARCH_MIRROR` at another copy",
        size_note(*expected_bytes, *actual_bytes)
    )]
    DownloadCorrupt {
        /// The URL.
        url: String,
        /// The descriptor's hash.
        expected: String,
        /// The hash of the bytes received.
        actual: String,
        /// The descriptor's size in bytes.
        expected_bytes: u64,
        /// The bytes received.
        actual_bytes: u64,
    },

    /// A plain-HTTP URL for a host other than this machine.
    #[error(
        "refusing to download over plain http: `{url}`\nhelp: use an `https://` URL (plain `http://` is allowed only for `127.0.0.1` and `localhost`)"
    )]
    InsecureUrl {
        /// The URL.
        url: String,
    },

    /// A file that is missing or corrupt and has no URL: its corpus was added from local files.
    #[error(
        "corpus `{corpus}` was added from local files, so `{file}` cannot be downloaded\nhelp: put the original back at `{}`, or add the corpus again under a new name",
        path.display()
    )]
    NoUrl {
        /// The corpus.
        corpus: String,
        /// The file.
        file: String,
        /// Where it belongs.
        path: PathBuf,
    },

    /// A corpus's `tokenizer.json` that the tokenizers library cannot read.
    #[error("corpus `{corpus}`: cannot read the BPE tokenizer `{file}`: {message}")]
    BpeFile {
        /// The corpus.
        corpus: String,
        /// The file.
        file: String,
        /// The library's message.
        message: String,
    },

    /// A text to add that holds nothing.
    #[error("`{}` is empty\nhelp: a corpus needs text to train on", path.display())]
    EmptyText {
        /// The file.
        path: PathBuf,
    },

    /// A corpus name that is not a plain name.
    #[error(
        "`{name}` cannot name a corpus\nhelp: use letters, digits, `-`, `_` and `.`, starting with a letter or digit"
    )]
    InvalidCorpusName {
        /// The name.
        name: String,
    },

    /// A corpus name already in use.
    #[error("a corpus called `{name}` already exists ({place})\nhelp: choose another name{remove}")]
    CorpusNameTaken {
        /// The name.
        name: String,
        /// Where: `built in`, or its descriptor's path.
        place: String,
        /// How to free the name, if it can be freed.
        remove: String,
    },

    /// Split fractions that do not make three parts of a whole.
    #[error(
        "invalid split `{given}`: {message}\nhelp: give train, valid and test fractions that sum to 1, e.g. `--split 0.9,0.05,0.05`"
    )]
    SplitFractions {
        /// What was given.
        given: String,
        /// What is wrong.
        message: String,
    },

    /// A split with too little text to hold a window and its target.
    #[error(
        "the `{split}` split of the new corpus holds {tokens} tokens, too few for one window and its target\nhelp: give the split more text (a larger fraction, or a longer file)"
    )]
    SplitTooSmall {
        /// The split.
        split: String,
        /// Its tokens.
        tokens: usize,
    },

    /// A BPE vocabulary size the training text cannot support.
    #[error("{message}\nhelp: {help}")]
    VocabSize {
        /// What is wrong.
        message: String,
        /// What to do.
        help: String,
    },

    /// No per-user cache directory is known and none was given.
    #[error("no cache directory to download into\nhelp: pass `--data DIR`, or set `$TINYARCH_CACHE`")]
    NoCacheDir,

    /// Sampler settings that cannot produce a batch.
    #[error("invalid sampler settings: {message}\nhelp: {help}")]
    Sampler {
        /// The problem.
        message: String,
        /// What to do.
        help: String,
    },
}

impl DataError {
    /// Names the split a sampler error is about: `split `valid`: the split has 37 tokens, ...`.
    pub fn in_split(self, split: super::Split) -> DataError {
        match self {
            DataError::Sampler { message, help } => {
                DataError::Sampler { message: format!("split `{split}`: {message}"), help }
            }
            other => other,
        }
    }
}

/// One place searched for a corpus file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Searched {
    /// The full path looked at.
    pub path: PathBuf,
    /// Where its data directory came from (`--data`, `$TINYARCH_DATA`, `cache`).
    pub origin: String,
    /// Whether the data directory itself exists.
    pub dir_exists: bool,
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    match suggestion {
        Some(s) => format!(": did you mean `{s}`?"),
        None => String::new(),
    }
}

fn backticked(names: &[String]) -> String {
    if names.is_empty() {
        return "(none)".to_string();
    }
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

fn searched_list(searched: &[Searched]) -> String {
    let mut out = String::from("  searched:\n");
    for s in searched {
        let note = if s.dir_exists { "" } else { " (directory does not exist)" };
        out.push_str(&format!("    {} (from {}){note}\n", s.path.display(), s.origin));
    }
    out
}

fn size_note(expected: u64, actual: u64) -> String {
    use std::cmp::Ordering;
    match actual.cmp(&expected) {
        Ordering::Equal => String::new(),
        Ordering::Less => {
            format!(": got {actual} bytes, {} fewer than the expected {expected} (truncated?)", expected - actual)
        }
        Ordering::Greater => format!(": got {actual} bytes, {} more than the expected {expected}", actual - expected),
    }
}

/// The closest of `candidates` to `name`, ignoring case, if it is close enough to be a typo.
pub(crate) fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let lower: Vec<String> = candidates.iter().map(|c| c.to_lowercase()).collect();
    let best = crate::diag::did_you_mean(&name.to_lowercase(), lower.iter().map(String::as_str))?;
    let index = lower.iter().position(|l| l == best)?;
    Some(candidates[index].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_and_suggestions() {
        let known = ["tiny-shakespeare", "ptb", "wikitext-2"];
        assert_eq!(closest("wikitext2", known).as_deref(), Some("wikitext-2"));
        assert_eq!(closest("PTB", known).as_deref(), Some("ptb"));
        assert_eq!(closest("tiny-shakespear", known).as_deref(), Some("tiny-shakespeare"));
        assert_eq!(closest("imagenet", known), None);
    }
}
