//! A user's text becomes a corpus like the built-in ones (`tinyarch corpora add`).
//!
//! ```text
//! text file(s) --read, UTF-8--> splits (byte ranges at line ends, or a file each)
//!   --tokenizer (chars | words | BPE trained on train)--> checked in memory: every split holds a window
//!   --write--> <folder>/<name>/ (text, tokenizer.json) then <folder>/<name>.ron (descriptor, SHA-256s)
//! ```
//!
//! Nothing is written until the corpus has tokenized in memory, and the descriptor is written
//! last: a corpus folder without its descriptor is an interrupted add, and no corpus.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::bpe::{self, BpeError};
use super::descriptor::{Catalog, Descriptor, FileSpec, Origin, Part, Split, SplitSet, TokenizerSpec, VocabOrder};
use super::error::DataError;
use super::locate::sha256_hex;
use super::{Corpus, TokenCounts};

/// What to add.
#[derive(Clone, Debug, PartialEq)]
pub struct NewCorpus {
    /// The name `--corpus` will take.
    pub name: String,
    pub source: TextSource,
    pub tokenizer: TokenizerChoice,
}

/// Where the text comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum TextSource {
    /// One file, cut into train, valid and test at these fractions (at the next line end).
    Text { path: PathBuf, fractions: [f64; 3] },
    /// A file per split; the test split is optional.
    Files { train: PathBuf, valid: PathBuf, test: Option<PathBuf> },
}

/// How the new corpus is tokenized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenizerChoice {
    /// One token per character.
    Chars,
    /// The study's words: whitespace-separated, ids in byte order, learnt from the training
    /// split; words the training split lacks become `<unk>`.
    Words,
    /// Byte-level BPE with this many tokens, trained on the training split.
    Bpe { vocab_size: usize },
    /// A byte-level BPE trained elsewhere: a Hugging Face `tokenizer.json` (GPT-2's, say).
    BpeFile { path: PathBuf },
}

impl TokenizerChoice {
    /// The tokenizer's name in the descriptor: `chars`, `words` or `bpe`.
    pub fn name(&self) -> &'static str {
        match self {
            TokenizerChoice::Chars => "chars",
            TokenizerChoice::Words => "words",
            TokenizerChoice::Bpe { .. } | TokenizerChoice::BpeFile { .. } => "bpe",
        }
    }
}

/// A corpus that was added.
#[derive(Clone, Debug)]
pub struct Added {
    pub descriptor: Descriptor,
    /// `<folder>/<name>.ron`.
    pub descriptor_path: PathBuf,
    /// `<folder>/<name>/`, which holds the files.
    pub dir: PathBuf,
    /// The vocabulary and the tokens of each split.
    pub counts: TokenCounts,
}

/// The name `tinyarch run --text FILE` gives the file's corpus: its stem and the start of its
/// SHA-256 (`notes-1a2b3c4d`), so that an edited file is a new corpus.
pub fn text_corpus_name(path: &Path, bytes: &[u8]) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut plain: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    plain = plain.trim_matches('-').chars().take(40).collect();
    if plain.is_empty() {
        plain = "text".into();
    }
    format!("{plain}-{}", &sha256_hex(bytes)[..8])
}

/// Adds `new` into the data folder `folder`, unless `catalog` (or `folder`) already has a
/// corpus of that name.
pub fn add(new: &NewCorpus, folder: &Path, catalog: &Catalog) -> Result<Added, DataError> {
    check_name(&new.name, folder, catalog)?;
    let (files, split_set) = read_source(&new.source)?;
    let (tokenizer_name, spec, extra) = tokenizer(new, &files, &split_set)?;
    let files: Vec<NamedFile> = files.into_iter().chain(extra).collect();
    let descriptor = descriptor(new, &files, split_set, tokenizer_name, spec)?;
    let dir = folder.join(&descriptor.dir);
    let counts = count(&descriptor, &files, &dir)?;
    let descriptor_path = folder.join(format!("{}.ron", new.name));
    write(&descriptor, &files, folder, &dir, &descriptor_path)?;
    Ok(Added { descriptor, descriptor_path, dir, counts })
}

fn check_name(name: &str, folder: &Path, catalog: &Catalog) -> Result<(), DataError> {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        return Err(DataError::InvalidCorpusName { name: name.to_string() });
    }
    let taken = |place: String, remove: String| DataError::CorpusNameTaken { name: name.to_string(), place, remove };
    if let Some((_, origin)) = catalog.iter().find(|(d, _)| d.name == name) {
        return Err(match origin {
            Origin::Builtin => taken("built in".into(), String::new()),
            Origin::File(path) => taken(
                format!("described by `{}`", path.display()),
                format!(", or remove `{}` and its folder first", path.display()),
            ),
        });
    }
    for path in [folder.join(format!("{name}.ron")), folder.join(name)] {
        if path.exists() {
            return Err(taken(
                format!("`{}` is in the way", path.display()),
                format!(", or remove `{}`", path.display()),
            ));
        }
    }
    Ok(())
}

/// Reads a text file whole: not empty, and UTF-8 (an error gives the first bad byte's offset).
fn read_text(path: &Path) -> Result<Vec<u8>, DataError> {
    let bytes =
        std::fs::read(path).map_err(|source| DataError::Io { action: "read", path: path.to_path_buf(), source })?;
    if bytes.is_empty() {
        return Err(DataError::EmptyText { path: path.to_path_buf() });
    }
    if let Err(e) = std::str::from_utf8(&bytes) {
        return Err(DataError::NotUtf8 { path: path.to_path_buf(), offset: e.valid_up_to() });
    }
    Ok(bytes)
}

/// A corpus file as `(name, bytes)`.
type NamedFile = (String, Vec<u8>);

/// The corpus's files, and its split set.
fn read_source(source: &TextSource) -> Result<(Vec<NamedFile>, SplitSet), DataError> {
    match source {
        TextSource::Text { path, fractions } => {
            let bytes = read_text(path)?;
            let text = std::str::from_utf8(&bytes).unwrap_or_default();
            let [train, valid, end] = cuts(text, *fractions)?;
            let empty = |split: Split| DataError::SplitTooSmall { split: split.name().into(), tokens: 0 };
            if valid == train {
                return Err(empty(Split::Valid));
            }
            if fractions[2] > 0.0 && valid == end {
                return Err(empty(Split::Test));
            }
            let part = |start: usize, end: usize| Part::Range {
                file: "text.txt".into(),
                start: start as u64,
                end: end as u64,
            };
            let set = SplitSet {
                train: part(0, train),
                valid: part(train, valid),
                test: (fractions[2] > 0.0).then(|| part(valid, end)),
            };
            Ok((vec![("text.txt".into(), bytes)], set))
        }
        TextSource::Files { train, valid, test } => {
            let mut files = vec![("train.txt".to_string(), read_text(train)?), ("valid.txt".into(), read_text(valid)?)];
            if let Some(test) = test {
                files.push(("test.txt".into(), read_text(test)?));
            }
            let set = SplitSet {
                train: Part::File("train.txt".into()),
                valid: Part::File("valid.txt".into()),
                test: test.as_ref().map(|_| Part::File("test.txt".into())),
            };
            Ok((files, set))
        }
    }
}

/// The end offsets of train, valid and test for `fractions` of `text`: each moved forward to a
/// line start (or only to a character boundary if no line break is left).
fn cuts(text: &str, fractions: [f64; 3]) -> Result<[usize; 3], DataError> {
    let given = fractions.map(|f| f.to_string()).join(",");
    let bad = |message: &str| DataError::SplitFractions { given: given.clone(), message: message.into() };
    if fractions.iter().any(|f| !f.is_finite() || *f < 0.0) {
        return Err(bad("fractions must be numbers from 0 to 1"));
    }
    if fractions[0] == 0.0 || fractions[1] == 0.0 {
        return Err(bad("train and valid need a share of the text"));
    }
    if (fractions.iter().sum::<f64>() - 1.0).abs() > 1e-6 {
        return Err(bad("the fractions do not sum to 1"));
    }
    let cut = |share: f64| {
        let at = ((text.len() as f64 * share) as usize).min(text.len());
        let at = (at..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
        if at == 0 || text.as_bytes()[at - 1] == b'\n' {
            return at;
        }
        text[at..].find('\n').map_or(at, |i| at + i + 1)
    };
    let train = cut(fractions[0]);
    let valid = if fractions[2] == 0.0 { text.len() } else { cut(fractions[0] + fractions[1]).max(train) };
    Ok([train, valid, text.len()])
}

type Tokenizing = (&'static str, TokenizerSpec, Option<NamedFile>);

/// The tokenizer's name and spec, and its file for BPE (trained here on the training split).
fn tokenizer(new: &NewCorpus, files: &[NamedFile], set: &SplitSet) -> Result<Tokenizing, DataError> {
    let name = new.tokenizer.name();
    Ok(match &new.tokenizer {
        TokenizerChoice::Chars => (name, TokenizerSpec::Chars, None),
        TokenizerChoice::Words => {
            (name, TokenizerSpec::Words { eos: None, order: VocabOrder::Sorted, unk: Some("<unk>".into()) }, None)
        }
        TokenizerChoice::Bpe { vocab_size } => {
            let train = part_text(files, &set.train);
            let json = bpe::train(train, *vocab_size).map_err(|e| match e {
                BpeError::VocabTooSmall { asked } => DataError::VocabSize {
                    message: format!("a BPE vocabulary of {asked} tokens holds no merges"),
                    help: format!("byte-level BPE starts from the {} bytes: ask for more", bpe::BYTE_TOKENS),
                },
                BpeError::VocabTooLarge { asked, possible } => DataError::VocabSize {
                    message: format!(
                        "the training split gives only {possible} BPE tokens, fewer than the {asked} asked for"
                    ),
                    help: format!("ask for at most {possible} tokens, or add text"),
                },
                BpeError::Library(message) => {
                    DataError::BpeFile { corpus: new.name.clone(), file: "tokenizer.json".into(), message }
                }
            })?;
            let spec = TokenizerSpec::Bpe { file: "tokenizer.json".into() };
            (name, spec, Some(("tokenizer.json".into(), json.into_bytes())))
        }
        TokenizerChoice::BpeFile { path } => {
            let json = read_text(path)?;
            // Loaded now, so that a file the library cannot read is refused before anything is written.
            bpe::Bpe::from_json(std::str::from_utf8(&json).unwrap_or_default()).map_err(|e| DataError::BpeFile {
                corpus: new.name.clone(),
                file: path.display().to_string(),
                message: format!("{e:?}"),
            })?;
            let spec = TokenizerSpec::Bpe { file: "tokenizer.json".into() };
            (name, spec, Some(("tokenizer.json".into(), json)))
        }
    })
}

/// The text of a part, from files already read as UTF-8 (ranges are at character boundaries).
fn part_text<'a>(files: &'a [(String, Vec<u8>)], part: &Part) -> &'a str {
    let bytes = files.iter().find(|(name, _)| name == part.file()).map_or(&[][..], |(_, b)| b);
    let bytes = match part {
        Part::File(_) => bytes,
        Part::Range { start, end, .. } => &bytes[*start as usize..*end as usize],
    };
    std::str::from_utf8(bytes).unwrap_or_default()
}

fn descriptor(
    new: &NewCorpus,
    files: &[NamedFile],
    split_set: SplitSet,
    tokenizer_name: &str,
    spec: TokenizerSpec,
) -> Result<Descriptor, DataError> {
    let sources: Vec<String> = match &new.source {
        TextSource::Text { path, .. } => vec![path.display().to_string()],
        TextSource::Files { train, valid, test } => {
            [Some(train), Some(valid), test.as_ref()].into_iter().flatten().map(|p| p.display().to_string()).collect()
        }
    };
    let descriptor = Descriptor {
        name: new.name.clone(),
        description: format!("added from {}, {}", sources.join(", "), tokenizer_name),
        license: None,
        dir: new.name.clone(),
        files: files
            .iter()
            .map(|(name, bytes)| FileSpec {
                name: name.clone(),
                bytes: bytes.len() as u64,
                sha256: sha256_hex(bytes),
                url: None,
            })
            .collect(),
        split_sets: BTreeMap::from([("main".to_string(), split_set)]),
        tokenizers: BTreeMap::from([(tokenizer_name.to_string(), spec)]),
        default_split_set: "main".into(),
        default_tokenizer: tokenizer_name.into(),
    };
    // What is written must read back as it is: parse it the way every later use will.
    Descriptor::from_str(&to_ron(&descriptor)?, &format!("new corpus `{}`", new.name))
}

fn to_ron(descriptor: &Descriptor) -> Result<String, DataError> {
    let pretty =
        ron::ser::PrettyConfig::new().struct_names(true).extensions(ron::extensions::Extensions::IMPLICIT_SOME);
    let text = ron::ser::to_string_pretty(descriptor, pretty).map_err(|e| DataError::DescriptorInvalid {
        origin: format!("new corpus `{}`", descriptor.name),
        message: e.to_string(),
        help: "report this as a bug".into(),
    })?;
    Ok(format!(
        "// Written by `tinyarch corpora add`; the checksums guard the files in `{}/`.\n{text}\n",
        descriptor.dir
    ))
}

/// Tokenizes the new corpus in memory; every split must hold one window and its target.
fn count(descriptor: &Descriptor, files: &[NamedFile], dir: &Path) -> Result<TokenCounts, DataError> {
    let loaded = files.iter().map(|(name, bytes)| (name.clone(), dir.join(name), bytes.clone())).collect();
    let dataset = Corpus::from_verified(descriptor, loaded)?.dataset(None, None)?;
    let splits: Vec<(Split, usize)> =
        Split::ALL.iter().filter_map(|&s| dataset.split(s).map(|t| (s, t.len()))).collect();
    if let Some((split, tokens)) = splits.iter().find(|(_, n)| *n < 2) {
        return Err(DataError::SplitTooSmall { split: split.name().into(), tokens: *tokens });
    }
    Ok(TokenCounts {
        split_set: dataset.split_set.clone(),
        tokenizer: dataset.tokenizer_name.clone(),
        vocab_size: dataset.vocab_size(),
        splits,
    })
}

/// Writes the files into a temporary folder renamed to `dir`, then the descriptor beside it.
fn write(
    descriptor: &Descriptor,
    files: &[NamedFile],
    folder: &Path,
    dir: &Path,
    descriptor_path: &Path,
) -> Result<(), DataError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { action, path, source }
    };
    std::fs::create_dir_all(folder).map_err(io("create", folder))?;
    let partial = folder.join(format!(".{}.partial-{}", descriptor.dir, std::process::id()));
    let written = (|| {
        std::fs::create_dir_all(&partial).map_err(io("create", &partial))?;
        for (name, bytes) in files {
            let path = partial.join(name);
            std::fs::write(&path, bytes).map_err(io("write", &path))?;
        }
        std::fs::rename(&partial, dir).map_err(io("create", dir))?;
        let temporary = folder.join(format!(".{}.ron.partial-{}", descriptor.name, std::process::id()));
        std::fs::write(&temporary, to_ron(descriptor)?).map_err(io("write", &temporary))?;
        std::fs::rename(&temporary, descriptor_path).map_err(io("write", descriptor_path))
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_fall_after_line_breaks() {
        let text = "aaaa\nbbbb\ncccc\ndddd\n";
        assert_eq!(cuts(text, [0.5, 0.25, 0.25]).unwrap(), [10, 15, 20]);
        assert_eq!(cuts(text, [0.2, 0.4, 0.4]).unwrap(), [5, 15, 20]);
        // No test share: valid runs to the end.
        assert_eq!(cuts(text, [0.5, 0.5, 0.0]).unwrap(), [10, 20, 20]);
        // Without line breaks, at the next character boundary.
        assert_eq!(cuts("ééé", [0.5, 0.25, 0.25]).unwrap(), [4, 4, 6]);
        assert!(cuts(text, [0.5, 0.6, 0.1]).is_err());
        assert!(cuts(text, [1.0, 0.0, 0.0]).is_err());
    }

    #[test]
    fn text_corpus_names_are_plain_and_change_with_the_text() {
        let a = text_corpus_name(Path::new("dir/My notes.txt"), b"one");
        let b = text_corpus_name(Path::new("dir/My notes.txt"), b"two");
        assert!(a.starts_with("My-notes-") && a.len() == "My-notes-".len() + 8, "{a}");
        assert_ne!(a, b);
    }
}
