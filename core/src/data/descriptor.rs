//! Corpus descriptors: what a corpus is made of, read from RON files.
//!
//! A descriptor names the corpus's files (with size, SHA-256 and download URL), its split sets
//! (whole files, or byte ranges of one file) and its tokenizers. The built-in descriptors in
//! `core/corpora/*.ron` are compiled into the binary; any other descriptor file can be loaded with
//! [`Descriptor::from_file`], or dropped as `<name>.ron` into a data directory (see
//! [`Catalog::discover`]), so a new corpus needs no code change.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{DataError, closest};

/// The built-in descriptors: `(name, RON source)`, embedded so the tool works from any folder.
const BUILTIN: [(&str, &str); 3] = [
    ("tiny-shakespeare", include_str!("../../corpora/tiny-shakespeare.ron")),
    ("ptb", include_str!("../../corpora/ptb.ron")),
    ("wikitext-2", include_str!("../../corpora/wikitext-2.ron")),
];

/// One corpus: its files, split sets and tokenizers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename = "Corpus", deny_unknown_fields)]
pub struct Descriptor {
    /// The name used on the command line (`ptb`).
    pub name: String,
    /// One line for listings.
    pub description: String,
    /// The license in a few words, shown in listings.
    #[serde(default)]
    pub license: Option<String>,
    /// The folder under a data directory that holds the files (`ptb`).
    pub dir: String,
    /// Every file of the corpus.
    pub files: Vec<FileSpec>,
    /// Named ways to cut the files into train / valid / test.
    pub split_sets: BTreeMap<String, SplitSet>,
    /// Named tokenizers.
    pub tokenizers: BTreeMap<String, TokenizerSpec>,
    /// The split set used when none is asked for.
    pub default_split_set: String,
    /// The tokenizer used when none is asked for.
    pub default_tokenizer: String,
}

/// One file of a corpus.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename = "File", deny_unknown_fields)]
pub struct FileSpec {
    /// The file name inside the corpus folder.
    pub name: String,
    /// The size in bytes.
    pub bytes: u64,
    /// The SHA-256 of the contents, 64 lowercase hex digits.
    pub sha256: String,
    /// Where `tinyarch corpora fetch` downloads it from (`https://`); none for a corpus added
    /// from local files.
    #[serde(default)]
    pub url: Option<String>,
}

/// Train, validation and (optionally) test parts of a corpus.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SplitSet {
    /// The training part.
    pub train: Part,
    /// The validation part.
    pub valid: Part,
    /// The test part, if the split set has one (nanoGPT's split has none).
    #[serde(default)]
    pub test: Option<Part>,
}

/// A part of a corpus: a whole file or a byte range of one.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub enum Part {
    /// The whole file.
    File(String),
    /// Bytes `start..end` of a file.
    Range {
        /// The file.
        file: String,
        /// First byte, inclusive.
        start: u64,
        /// Last byte, exclusive.
        end: u64,
    },
}

/// How text becomes token ids.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub enum TokenizerSpec {
    /// One token per Unicode character. The vocabulary is every distinct character of the
    /// files the split sets read, in byte (code point) order, so every split can be encoded.
    Chars,
    /// Byte-level BPE (GPT-2's scheme), read from a Hugging Face `tokenizer.json` that is one
    /// of the corpus's files (so it is verified like the text).
    Bpe {
        /// The `tokenizer.json` among `files`.
        file: String,
    },
    /// Whitespace-separated words. The vocabulary comes from the training split.
    Words {
        /// A token appended after every line (`<eos>`), or none.
        #[serde(default)]
        eos: Option<String>,
        /// How ids are assigned.
        order: VocabOrder,
        /// The token that stands for words missing from the training vocabulary; without it,
        /// such a word is an error.
        #[serde(default)]
        unk: Option<String>,
    },
}

/// How a word vocabulary numbers its entries.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum VocabOrder {
    /// In order of first appearance in the training split (torch `word_language_model`).
    FirstSeen,
    /// In byte order of the words (the study's).
    Sorted,
}

/// Which part of a split set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Split {
    /// Training data.
    Train,
    /// Validation data.
    Valid,
    /// Test data.
    Test,
}

impl Split {
    /// All three, in order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];

    /// `train`, `valid` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Part {
    /// The file this part reads.
    pub fn file(&self) -> &str {
        match self {
            Part::File(file) | Part::Range { file, .. } => file,
        }
    }
}

impl SplitSet {
    /// The part for `split`, if the set has it.
    pub fn part(&self, split: Split) -> Option<&Part> {
        match split {
            Split::Train => Some(&self.train),
            Split::Valid => Some(&self.valid),
            Split::Test => self.test.as_ref(),
        }
    }
}

impl Descriptor {
    /// Parses and checks a descriptor. `origin` names it in errors (a path, `built-in ptb`).
    pub fn from_str(source: &str, origin: &str) -> Result<Descriptor, DataError> {
        let options = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        let descriptor: Descriptor = options.from_str(source).map_err(|e| {
            let (line, column) = (e.span.start.line, e.span.start.col);
            DataError::DescriptorSyntax {
                origin: origin.to_string(),
                line,
                column,
                message: lowercase_first(&e.code.to_string()),
                snippet: snippet(source, line, column),
            }
        })?;
        descriptor.validate(origin)?;
        Ok(descriptor)
    }

    /// Reads, parses and checks a descriptor file.
    pub fn from_file(path: &Path) -> Result<Descriptor, DataError> {
        let source = std::fs::read_to_string(path).map_err(|source| DataError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        Descriptor::from_str(&source, &format!("`{}`", path.display()))
    }

    /// The file called `name`.
    pub fn file(&self, name: &str) -> Option<&FileSpec> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The split set called `name`, or the default one; a wrong name suggests a close one.
    pub fn split_set(&self, name: Option<&str>) -> Result<(&str, &SplitSet), DataError> {
        let name = name.unwrap_or(&self.default_split_set);
        match self.split_sets.get_key_value(name) {
            Some((k, v)) => Ok((k, v)),
            None => Err(self.unknown("split set", name, self.split_sets.keys())),
        }
    }

    /// The tokenizer called `name`, or the default one; a wrong name suggests a close one.
    pub fn tokenizer(&self, name: Option<&str>) -> Result<(&str, &TokenizerSpec), DataError> {
        let name = name.unwrap_or(&self.default_tokenizer);
        match self.tokenizers.get_key_value(name) {
            Some((k, v)) => Ok((k, v)),
            None => Err(self.unknown("tokenizer", name, self.tokenizers.keys())),
        }
    }

    fn unknown<'a>(
        &self,
        what: &'static str,
        name: &str,
        known: impl Iterator<Item = &'a String> + Clone,
    ) -> DataError {
        DataError::UnknownName {
            corpus: self.name.clone(),
            what,
            name: name.to_string(),
            suggestion: closest(name, known.clone().map(String::as_str)),
            known: known.cloned().collect(),
        }
    }

    /// Checks what the types cannot: names are plain, hashes are hex, parts refer to files and
    /// stay inside them, defaults exist.
    fn validate(&self, origin: &str) -> Result<(), DataError> {
        let invalid = |message: String, help: &str| DataError::DescriptorInvalid {
            origin: origin.to_string(),
            message,
            help: help.to_string(),
        };
        // Names become paths: keep them single, plain components.
        let plain = |s: &str| !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0']);
        if !plain(&self.name) || !plain(&self.dir) {
            return Err(invalid(
                format!("`name` (`{}`) and `dir` (`{}`) must be plain names", self.name, self.dir),
                "use a single folder name such as `ptb`, without `/` or `..`",
            ));
        }
        if self.files.is_empty() {
            return Err(invalid("the corpus has no `files`".into(), "list at least one `File(...)`"));
        }
        for (i, file) in self.files.iter().enumerate() {
            if !plain(&file.name) {
                return Err(invalid(
                    format!("file name `{}` is not a plain name", file.name),
                    "files live directly inside the corpus folder: use a name without `/` or `..`",
                ));
            }
            if self.files[..i].iter().any(|f| f.name == file.name) {
                return Err(invalid(format!("file `{}` is listed twice", file.name), "list each file once"));
            }
            let hex = file.sha256.len() == 64
                && file.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hex {
                return Err(invalid(
                    format!("`sha256` of `{}` is not 64 lowercase hex digits", file.name),
                    "copy the hash from `sha256sum FILE`",
                ));
            }
        }
        for (set_name, set) in &self.split_sets {
            for split in Split::ALL {
                let Some(part) = set.part(split) else {
                    continue;
                };
                let Some(file) = self.file(part.file()) else {
                    return Err(invalid(
                        format!(
                            "split `{split}` of split set `{set_name}` reads `{}`, which is not in `files`",
                            part.file()
                        ),
                        "name one of the files listed in `files`",
                    ));
                };
                if let Part::Range { start, end, .. } = part
                    && (start >= end || *end > file.bytes)
                {
                    return Err(invalid(
                        format!(
                            "split `{split}` of split set `{set_name}` has range {start}..{end}, which is empty or beyond the {} bytes of `{}`",
                            file.bytes, file.name
                        ),
                        "a range needs `start < end <= bytes`",
                    ));
                }
            }
        }
        for (name, tokenizer) in &self.tokenizers {
            if let TokenizerSpec::Bpe { file } = tokenizer
                && self.file(file).is_none()
            {
                return Err(invalid(
                    format!("tokenizer `{name}` reads `{file}`, which is not in `files`"),
                    "list the `tokenizer.json` in `files` with its checksum",
                ));
            }
            if let TokenizerSpec::Words { eos, unk, .. } = tokenizer {
                let bad =
                    |t: &Option<String>| t.as_deref().is_some_and(|t| t.is_empty() || t.contains(char::is_whitespace));
                if bad(eos) || bad(unk) {
                    return Err(invalid(
                        format!("tokenizer `{name}` has an `eos` or `unk` token that is empty or contains whitespace"),
                        "use a single word such as `<eos>`",
                    ));
                }
            }
        }
        if !self.split_sets.contains_key(&self.default_split_set) {
            return Err(invalid(
                format!("`default_split_set` is `{}`, which is not in `split_sets`", self.default_split_set),
                "name one of the split sets",
            ));
        }
        if !self.tokenizers.contains_key(&self.default_tokenizer) {
            return Err(invalid(
                format!("`default_tokenizer` is `{}`, which is not in `tokenizers`", self.default_tokenizer),
                "name one of the tokenizers",
            ));
        }
        Ok(())
    }
}

/// `Expected comma` as `expected comma`: our messages start in lowercase.
fn lowercase_first(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Line `line` of `source` (1-based) with a caret under column `column`, rustc style.
fn snippet(source: &str, line: usize, column: usize) -> String {
    let Some(text) = line.checked_sub(1).and_then(|i| source.lines().nth(i)) else {
        return String::new();
    };
    let number = line.to_string();
    let pad = " ".repeat(number.len());
    // Tabs keep their width so the caret lines up.
    let indent: String =
        text.chars().take(column.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
    format!("{pad} |\n{number} | {text}\n{pad} | {indent}^\n")
}

/// Where a descriptor came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into the binary from `core/corpora/NAME.ron`.
    Builtin,
    /// Read from this file.
    File(std::path::PathBuf),
}

/// The known corpora: the built-in descriptors, plus any found in data directories.
#[derive(Clone, Debug)]
pub struct Catalog {
    entries: Vec<(Descriptor, Origin)>,
}

impl Catalog {
    /// The built-in descriptors only.
    pub fn builtin() -> Catalog {
        let entries = BUILTIN
            .iter()
            .map(|(name, source)| {
                // The built-ins are checked by the test suite; a broken one is a build bug.
                let d = Descriptor::from_str(source, &format!("built-in `{name}`"))
                    .unwrap_or_else(|e| panic!("built-in descriptor `{name}` is invalid: {e}"));
                (d, Origin::Builtin)
            })
            .collect();
        Catalog { entries }
    }

    /// The built-ins plus every `*.ron` file at the top of the given data directories
    /// (directories that do not exist are skipped). A built-in name cannot be redefined: a
    /// file with the same name as an earlier entry is ignored.
    pub fn discover<'a>(dirs: impl IntoIterator<Item = &'a Path>) -> Result<Catalog, DataError> {
        let mut catalog = Catalog::builtin();
        for dir in dirs {
            let Ok(read) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut paths: Vec<_> = read
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "ron") && p.is_file())
                .collect();
            paths.sort();
            for path in paths {
                let d = Descriptor::from_file(&path)?;
                if catalog.entries.iter().all(|(e, _)| e.name != d.name) {
                    catalog.entries.push((d, Origin::File(path)));
                }
            }
        }
        Ok(catalog)
    }

    /// Adds a descriptor (replacing one of the same name).
    pub fn insert(&mut self, descriptor: Descriptor, origin: Origin) {
        self.entries.retain(|(d, _)| d.name != descriptor.name);
        self.entries.push((descriptor, origin));
    }

    /// Every descriptor, built-ins first.
    pub fn iter(&self) -> impl Iterator<Item = (&Descriptor, &Origin)> {
        self.entries.iter().map(|(d, o)| (d, o))
    }

    /// The names of all known corpora.
    pub fn names(&self) -> Vec<String> {
        self.entries.iter().map(|(d, _)| d.name.clone()).collect()
    }

    /// The descriptor called `name`; an unknown name suggests the closest known one.
    pub fn get(&self, name: &str) -> Result<&Descriptor, DataError> {
        if let Some((d, _)) = self.entries.iter().find(|(d, _)| d.name == name) {
            return Ok(d);
        }
        let names = self.names();
        Err(DataError::UnknownCorpus {
            name: name.to_string(),
            suggestion: closest(name, names.iter().map(String::as_str)),
            known: names,
        })
    }
}

/// The built-in descriptor called `name` (`tiny-shakespeare`, `ptb`, `wikitext-2`).
pub fn builtin(name: &str) -> Result<Descriptor, DataError> {
    Catalog::builtin().get(name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_descriptors_parse_and_validate() {
        let catalog = Catalog::builtin();
        assert_eq!(catalog.names(), ["tiny-shakespeare", "ptb", "wikitext-2"]);
        let ts = catalog.get("tiny-shakespeare").unwrap();
        let (_, study) = ts.split_set(Some("study")).unwrap();
        assert_eq!(study.valid, Part::Range { file: "input.txt".into(), start: 892118, end: 1003787 });
        let (_, nanogpt) = ts.split_set(Some("nanogpt")).unwrap();
        assert_eq!(nanogpt.test, None);
        let ptb = catalog.get("ptb").unwrap();
        assert_eq!(
            ptb.tokenizer(Some("standard")).unwrap().1,
            &TokenizerSpec::Words { eos: Some("<eos>".into()), order: VocabOrder::FirstSeen, unk: None }
        );
    }

    #[test]
    fn semantic_errors_name_the_problem() {
        let src = include_str!("../../corpora/ptb.ron")
            .replace("train: File(\"ptb.train.txt\")", "train: File(\"ptb.training.txt\")");
        let err = Descriptor::from_str(&src, "test").unwrap_err().to_string();
        assert!(err.contains("`ptb.training.txt`, which is not in `files`"), "{err}");
    }
}
