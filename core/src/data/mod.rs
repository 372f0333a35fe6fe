//! Corpora: descriptors, finding and verifying files, tokenizers and samplers.
//!
//! The path from files on disk to batches, one module per step:
//!
//! ```text
//! core/corpora/*.ron --descriptor--> Descriptor --locate (search, SHA-256)--> Corpus (verified text)
//!   --tokenizer--> Dataset (vocabulary, one TokenStream per split) --sampler--> Batch
//! ```
//!
//! A training loop needs three calls:
//!
//! ```no_run
//! use tinyarch_core::data::{self, Locator, Sampler, SamplerConfig, Split};
//!
//! let locator = Locator::from_env(None); // --data, $TINYARCH_DATA, user cache
//! let dataset = data::load("tiny-shakespeare", &locator, None, None)?;
//! let train = Sampler::new(&dataset.train, SamplerConfig::study_train(128, 64, 10_000, None, 1))?;
//! for batch in train.epoch(0) {
//!     // batch.ids: [batch, context]; batch.targets: [batch] (the study's objective)
//! }
//! # Ok::<(), tinyarch_core::data::DataError>(())
//! ```
//!
//! Nothing is tokenized from a file whose SHA-256 does not match its descriptor.

mod add;
mod bpe;
mod descriptor;
mod error;
mod fetch;
mod locate;
mod sampler;
mod tokenizer;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use add::{Added, NewCorpus, TextSource, TokenizerChoice, add, text_corpus_name};
pub use bpe::BYTE_TOKENS;
pub use descriptor::{
    Catalog, Descriptor, FileSpec, Origin, Part, Split, SplitSet, TokenizerSpec, VocabOrder, builtin,
};
pub use error::{DataError, Searched};
pub use fetch::{FetchOutcome, Fetched, MIRROR_ENV, fetch, fetch_file, file_url};
pub use locate::{CACHE_ENV, DATA_ENV, DataDir, DirOrigin, Locator, cache_dir, sha256_file, sha256_hex};
pub use sampler::{Batch, Batches, Objective, Sampler, SamplerConfig, Windows};
pub use tokenizer::{Decoder, TokenStream, Tokenizer, UnknownToken, Vocab};

/// The verified files of one corpus, as text.
#[derive(Clone, Debug)]
pub struct Corpus {
    descriptor: Descriptor,
    files: BTreeMap<String, LoadedFile>,
}

#[derive(Clone, Debug)]
struct LoadedFile {
    path: PathBuf,
    text: String,
}

/// A corpus tokenized under one split set and one tokenizer.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The corpus name.
    pub corpus: String,
    /// The split set's name.
    pub split_set: String,
    /// The tokenizer's name.
    pub tokenizer_name: String,
    /// The tokenizer, with its vocabulary.
    pub tokenizer: Tokenizer,
    /// The training tokens.
    pub train: TokenStream,
    /// The validation tokens.
    pub valid: TokenStream,
    /// The test tokens, if the split set has a test split.
    pub test: Option<TokenStream>,
    /// SHA-256 (hex) over the corpus's file checksums, split set and tokenizer: what the data
    /// of a run is, for its identity.
    pub fingerprint: String,
}

impl Dataset {
    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        self.tokenizer.vocab()
    }

    /// The number of distinct token ids.
    pub fn vocab_size(&self) -> usize {
        self.tokenizer.vocab().len()
    }

    /// The tokens of `split`, if the split set has it.
    pub fn split(&self, split: Split) -> Option<&TokenStream> {
        match split {
            Split::Train => Some(&self.train),
            Split::Valid => Some(&self.valid),
            Split::Test => self.test.as_ref(),
        }
    }
}

/// Loads a built-in corpus (or one whose descriptor sits in a data directory), verifies its
/// files and tokenizes it. `None` picks the descriptor's default split set or tokenizer.
pub fn load(
    name: &str,
    locator: &Locator,
    split_set: Option<&str>,
    tokenizer: Option<&str>,
) -> Result<Dataset, DataError> {
    let catalog = Catalog::discover(locator.dirs().iter().map(|d| d.path.as_path()))?;
    let descriptor = catalog.get(name)?;
    Corpus::open(descriptor, locator)?.dataset(split_set, tokenizer)
}

impl Corpus {
    /// Finds, reads and verifies every file of `descriptor`.
    pub fn open(descriptor: &Descriptor, locator: &Locator) -> Result<Corpus, DataError> {
        let mut loaded = Vec::new();
        for file in &descriptor.files {
            let (path, bytes) = locator.read_verified(descriptor, file)?;
            loaded.push((file.name.clone(), path, bytes));
        }
        Corpus::from_verified(descriptor, loaded)
    }

    /// Builds a corpus from files already read and verified: `(file name, path, bytes)`.
    fn from_verified(descriptor: &Descriptor, loaded: Vec<(String, PathBuf, Vec<u8>)>) -> Result<Corpus, DataError> {
        let mut files = BTreeMap::new();
        for (name, path, bytes) in loaded {
            let text = String::from_utf8(bytes)
                .map_err(|e| DataError::NotUtf8 { path: path.clone(), offset: e.utf8_error().valid_up_to() })?;
            files.insert(name, LoadedFile { path, text });
        }
        Ok(Corpus { descriptor: descriptor.clone(), files })
    }

    /// The descriptor.
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    /// Where each file was found: `(file name, path)`.
    pub fn paths(&self) -> impl Iterator<Item = (&str, &std::path::Path)> {
        self.files.iter().map(|(name, f)| (name.as_str(), f.path.as_path()))
    }

    /// The text of one split.
    pub fn text(&self, split_set: Option<&str>, split: Split) -> Result<Option<&str>, DataError> {
        let (_, set) = self.descriptor.split_set(split_set)?;
        match set.part(split) {
            Some(part) => self.part_text(part, split).map(Some),
            None => Ok(None),
        }
    }

    fn part_text(&self, part: &Part, split: Split) -> Result<&str, DataError> {
        // `validate` checked that every part names a listed file, and `open` loaded them all.
        let text = self.files.get(part.file()).map_or("", |f| f.text.as_str());
        match part {
            Part::File(_) => Ok(text),
            Part::Range { file, start, end } => {
                for offset in [*start, *end] {
                    if !text.is_char_boundary(offset as usize) {
                        return Err(DataError::SplitNotOnCharBoundary {
                            corpus: self.descriptor.name.clone(),
                            split: split.name().into(),
                            file: file.clone(),
                            offset,
                        });
                    }
                }
                Ok(&text[*start as usize..*end as usize])
            }
        }
    }

    /// Tokenizes every split of `split_set` with `tokenizer` (`None`: the defaults).
    pub fn dataset(&self, split_set: Option<&str>, tokenizer: Option<&str>) -> Result<Dataset, DataError> {
        let d = &self.descriptor;
        let (set_name, set) = d.split_set(split_set)?;
        let (tok_name, spec) = d.tokenizer(tokenizer)?;
        let train_text = self.part_text(&set.train, Split::Train)?;
        let (tok, train) = match spec {
            TokenizerSpec::Chars => {
                let tok = Tokenizer::chars(self.split_files().map(|f| f.text.as_str()));
                let train = self.encode(&tok, train_text, Split::Train)?;
                (tok, train)
            }
            TokenizerSpec::Words { eos, order, unk } => {
                Tokenizer::words(train_text, eos.as_deref(), *order, unk.as_deref())
            }
            TokenizerSpec::Bpe { file } => {
                let json = self.files.get(file).map_or("", |f| f.text.as_str());
                let tok = Tokenizer::bpe(json).map_err(|e| DataError::BpeFile {
                    corpus: d.name.clone(),
                    file: file.clone(),
                    message: format!("{e:?}"),
                })?;
                let train = self.encode(&tok, train_text, Split::Train)?;
                (tok, train)
            }
        };
        let valid = self.encode(&tok, self.part_text(&set.valid, Split::Valid)?, Split::Valid)?;
        let test = match &set.test {
            Some(part) => Some(self.encode(&tok, self.part_text(part, Split::Test)?, Split::Test)?),
            None => None,
        };
        let mut identity = format!("{}\n{set_name}\n{tok_name}\n", d.name);
        for f in &d.files {
            identity.push_str(&format!("{} {}\n", f.name, f.sha256));
        }
        Ok(Dataset {
            fingerprint: sha256_hex(identity.as_bytes()),
            corpus: d.name.clone(),
            split_set: set_name.to_string(),
            tokenizer_name: tok_name.to_string(),
            tokenizer: tok,
            train,
            valid,
            test,
        })
    }

    /// The files some split set reads (not, say, a `tokenizer.json`).
    fn split_files(&self) -> impl Iterator<Item = &LoadedFile> {
        self.files
            .iter()
            .filter(|(name, _)| {
                self.descriptor
                    .split_sets
                    .values()
                    .any(|set| Split::ALL.iter().any(|&s| set.part(s).is_some_and(|p| p.file() == name.as_str())))
            })
            .map(|(_, f)| f)
    }

    fn encode(&self, tok: &Tokenizer, text: &str, split: Split) -> Result<TokenStream, DataError> {
        tok.encode(text).map_err(|UnknownToken(word)| DataError::OutOfVocabulary {
            corpus: self.descriptor.name.clone(),
            split: split.name().into(),
            word,
        })
    }
}

/// The state of one corpus file, for listings.
#[derive(Debug)]
pub enum FileState {
    /// Found and its SHA-256 matches.
    Verified(PathBuf),
    /// Not found in any data directory.
    Missing,
    /// Found, but its size or SHA-256 differs.
    Corrupt(PathBuf),
    /// Could not be checked (unreadable, data directory missing, ...).
    Failed,
}

/// One file in a listing.
#[derive(Debug)]
pub struct FileStatus {
    /// The file name.
    pub name: String,
    /// Its size according to the descriptor.
    pub bytes: u64,
    /// What was found.
    pub state: FileState,
    /// The error behind a state other than `Verified`.
    pub error: Option<DataError>,
}

/// Token counts of one split set under one tokenizer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenCounts {
    /// The split set.
    pub split_set: String,
    /// The tokenizer.
    pub tokenizer: String,
    /// The vocabulary size.
    pub vocab_size: usize,
    /// Tokens per split that exists.
    pub splits: Vec<(Split, usize)>,
}

/// Everything `tinyarch corpora` shows about a corpus.
#[derive(Debug)]
pub struct CorpusStatus {
    /// The files, in descriptor order.
    pub files: Vec<FileStatus>,
    /// Counts for every split set and tokenizer (empty unless every file verified), or the
    /// error that stopped tokenizing.
    pub counts: Result<Vec<TokenCounts>, DataError>,
}

impl CorpusStatus {
    /// Whether every file is present and verified.
    pub fn verified(&self) -> bool {
        self.files.iter().all(|f| matches!(f.state, FileState::Verified(_)))
    }
}

/// Checks every file of `descriptor` and, if all verify, tokenizes every split set with every
/// tokenizer to count tokens. Each file is read once.
pub fn inspect(descriptor: &Descriptor, locator: &Locator) -> CorpusStatus {
    let mut files = Vec::new();
    let mut loaded = Vec::new();
    for file in &descriptor.files {
        let (state, error) = match locator.read_verified(descriptor, file) {
            Ok((path, bytes)) => {
                loaded.push((file.name.clone(), path.clone(), bytes));
                (FileState::Verified(path), None)
            }
            Err(e) => {
                let state = match &e {
                    DataError::MissingFile { .. } => FileState::Missing,
                    DataError::ChecksumMismatch { path, .. } => FileState::Corrupt(path.clone()),
                    _ => FileState::Failed,
                };
                (state, Some(e))
            }
        };
        files.push(FileStatus { name: file.name.clone(), bytes: file.bytes, state, error });
    }
    let counts = if loaded.len() == descriptor.files.len() { count_tokens(descriptor, loaded) } else { Ok(Vec::new()) };
    CorpusStatus { files, counts }
}

fn count_tokens(
    descriptor: &Descriptor,
    loaded: Vec<(String, PathBuf, Vec<u8>)>,
) -> Result<Vec<TokenCounts>, DataError> {
    let corpus = Corpus::from_verified(descriptor, loaded)?;
    let mut counts = Vec::new();
    for set in descriptor.split_sets.keys() {
        for tok in descriptor.tokenizers.keys() {
            let ds = corpus.dataset(Some(set), Some(tok))?;
            counts.push(TokenCounts {
                split_set: set.clone(),
                tokenizer: tok.clone(),
                vocab_size: ds.vocab_size(),
                splits: Split::ALL.iter().filter_map(|&s| ds.split(s).map(|t| (s, t.len()))).collect(),
            });
        }
    }
    Ok(counts)
}
