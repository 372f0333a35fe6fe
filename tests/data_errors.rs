//! Errors of the data layer: missing data, bad checksums, unknown names, malformed descriptors,
//! and the verification stamp cache.

mod common;
use common::{TempDir, data_dir};

use std::fs;
use std::path::Path;

use tinyarch::data::{self, Corpus, DataError, Descriptor, Locator, sha256_hex};

const TEXT: &str = "the cat sat\non the mat\nthe end\n";

/// A data directory holding corpus `tiny` (one file, `TEXT`) with its descriptor beside it.
fn tiny_corpus(dir: &Path) -> Descriptor {
    let source = format!(
        r#"
// A three-line test corpus.
Corpus(
    name: "tiny",
    description: "test corpus",
    dir: "tiny",
    files: [
        File(name: "all.txt", bytes: {}, sha256: "{}", url: "https://example.invalid/all.txt"),
    ],
    split_sets: {{
        "lines": (
            train: Range(file: "all.txt", start: 0, end: 12),
            valid: Range(file: "all.txt", start: 12, end: 23),
            test: Range(file: "all.txt", start: 23, end: {}),
        ),
    }},
    tokenizers: {{
        "words": Words(eos: "<eos>", order: FirstSeen, unk: "<unk>"),
        "strict": Words(eos: "<eos>", order: FirstSeen),
        "chars": Chars,
    }},
    default_split_set: "lines",
    default_tokenizer: "words",
)
"#,
        TEXT.len(),
        sha256_hex(TEXT.as_bytes()),
        TEXT.len()
    );
    fs::write(dir.join("tiny.ron"), &source).unwrap();
    fs::create_dir_all(dir.join("tiny")).unwrap();
    fs::write(dir.join("tiny/all.txt"), TEXT).unwrap();
    Descriptor::from_str(&source, "test").unwrap()
}

#[test]
fn a_descriptor_in_the_data_directory_defines_a_new_corpus() {
    let tmp = TempDir::new("new-corpus");
    tiny_corpus(&tmp.0);
    let ds = data::load("tiny", &Locator::new([tmp.0.clone()]), None, None).unwrap();
    assert_eq!(ds.vocab().tokens(), ["the", "cat", "sat", "<eos>", "<unk>"]);
    assert_eq!(ds.train.to_vec(), [0, 1, 2, 3]);
    // "on the mat": `on` and `mat` are not in train and map to `<unk>`.
    assert_eq!(ds.valid.to_vec(), [4, 0, 4, 3]);
    let chars = data::load("tiny", &Locator::new([tmp.0.clone()]), None, Some("chars")).unwrap();
    assert_eq!(chars.train.len(), 12);
}

#[test]
fn a_word_outside_the_training_vocabulary_is_an_error() {
    let tmp = TempDir::new("oov");
    let d = tiny_corpus(&tmp.0);
    let corpus = Corpus::open(&d, &Locator::new([tmp.0.clone()])).unwrap();
    // Valid is "on the mat": `on` and `mat` never occur in train, and `strict` has no `unk`.
    let err = corpus.dataset(None, Some("strict")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::OutOfVocabulary { .. }), "{msg}");
    assert!(msg.contains("word `on` in split `valid`"), "{msg}");
}

#[test]
fn a_missing_data_directory_is_named() {
    let tmp = TempDir::new("missing-dir");
    let nowhere = tmp.0.join("no-such-dir");
    let err = data::load("ptb", &Locator::new([nowhere.clone()]), None, None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::DataDirMissing { .. }), "{msg}");
    assert!(msg.contains(&format!("`{}`", nowhere.display())), "{msg}");
    assert!(msg.contains("does not exist"), "{msg}");
}

#[test]
fn a_missing_file_names_the_corpus_every_place_searched_and_the_fetch_command() {
    let (a, b) = (TempDir::new("missing-a"), TempDir::new("missing-b"));
    let err = data::load("wikitext-2", &Locator::new([a.0.clone(), b.0.clone()]), None, None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::MissingFile { .. }), "{msg}");
    assert!(msg.contains("corpus `wikitext-2`"), "{msg}");
    assert!(msg.contains("`wikitext-2/wiki.train.tokens` not found"), "{msg}");
    for dir in [&a.0, &b.0] {
        let searched = dir.join("wikitext-2/wiki.train.tokens");
        assert!(msg.contains(&searched.display().to_string()), "{msg}");
    }
    assert!(msg.contains("`tinyarch corpora fetch wikitext-2`"), "{msg}");
}

#[test]
fn a_corrupted_byte_is_a_checksum_error_and_nothing_is_tokenized() {
    let tmp = TempDir::new("corrupt");
    let d = data::builtin("tiny-shakespeare").unwrap();
    let mut bytes = fs::read(data_dir().join("tiny-shakespeare/input.txt")).unwrap();
    bytes[500_000] ^= 0x01;
    fs::create_dir_all(tmp.0.join("tiny-shakespeare")).unwrap();
    let path = tmp.0.join("tiny-shakespeare/input.txt");
    fs::write(&path, &bytes).unwrap();

    let err = Corpus::open(&d, &Locator::new([tmp.0.clone()])).unwrap_err();
    let msg = err.to_string();
    let DataError::ChecksumMismatch { expected, actual, .. } = &err else {
        panic!("expected a checksum mismatch, got {msg}");
    };
    assert_eq!(expected, &d.files[0].sha256);
    assert_eq!(actual, &sha256_hex(&bytes));
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains(expected) && msg.contains(actual), "{msg}");
    assert!(!msg.contains("truncated"), "{msg}");
    assert!(data::load("tiny-shakespeare", &Locator::new([tmp.0.clone()]), None, None).is_err());
}

#[test]
fn a_truncated_file_is_a_checksum_error_that_mentions_the_size() {
    let tmp = TempDir::new("truncated");
    let d = tiny_corpus(&tmp.0);
    fs::write(tmp.0.join("tiny/all.txt"), &TEXT[..20]).unwrap();
    let err = Corpus::open(&d, &Locator::new([tmp.0.clone()])).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::ChecksumMismatch { .. }), "{msg}");
    assert!(
        msg.contains(&format!("got 20 bytes, {} fewer than the expected {}", TEXT.len() - 20, TEXT.len())),
        "{msg}"
    );
    assert!(msg.contains(&sha256_hex(&TEXT.as_bytes()[..20])), "{msg}");
}

#[test]
fn an_unknown_corpus_suggests_the_closest_name_and_lists_all() {
    let err = data::builtin("wikitext2").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::UnknownCorpus { .. }), "{msg}");
    assert!(msg.starts_with("unknown corpus `wikitext2`: did you mean `wikitext-2`?"), "{msg}");
    assert!(msg.contains("known corpora: `tiny-shakespeare`, `ptb`, `wikitext-2`"), "{msg}");
    let far = data::builtin("imagenet").unwrap_err().to_string();
    assert!(!far.contains("did you mean"), "{far}");
}

#[test]
fn unknown_split_sets_and_tokenizers_suggest_names() {
    let d = data::builtin("tiny-shakespeare").unwrap();
    let msg = d.split_set(Some("studdy")).unwrap_err().to_string();
    assert!(msg.contains("has no split set `studdy`: did you mean `study`?"), "{msg}");
    let msg = d.tokenizer(Some("words")).unwrap_err().to_string();
    assert!(msg.contains("its tokenizers are: `chars`"), "{msg}");
}

#[test]
fn a_malformed_descriptor_reports_line_and_column() {
    // Line 3 lacks the comma after `"x"`.
    let source = "Corpus(\n    name: \"x\",\n    description: \"x\"\n    dir: \"x\",\n)";
    let err = Descriptor::from_str(source, "`bad.ron`").unwrap_err();
    let DataError::DescriptorSyntax { line, column, .. } = err else {
        panic!("expected a syntax error, got {err}");
    };
    assert_eq!(line, 4);
    assert_eq!(column, 5);
    assert_eq!(
        err.to_string(),
        "malformed corpus descriptor `bad.ron`:4:5: expected comma\n  |\n4 |     dir: \"x\",\n  |     ^\nhelp: descriptors follow the format of the built-in ones in `core/corpora/*.ron`"
    );

    // Unknown fields are rejected, with their position.
    let ptb = include_str!("../core/corpora/ptb.ron").replacen("    dir:", "    colour: \"red\",\n    dir:", 1);
    let err = Descriptor::from_str(&ptb, "`ptb.ron`").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("colour"), "{msg}");
    let line = ptb.lines().position(|l| l.contains("colour")).unwrap() + 1;
    assert!(msg.contains(&format!("`ptb.ron`:{line}:")), "{msg}");
}

#[test]
fn a_malformed_descriptor_file_in_a_data_directory_is_reported() {
    let tmp = TempDir::new("bad-file");
    let path = tmp.0.join("broken.ron");
    fs::write(&path, "Corpus(name: \"broken\" oops)").unwrap();
    let err = data::load("ptb", &Locator::new([tmp.0.clone()]), None, None).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&format!("`{}`:1:", path.display())), "{msg}");
}

#[test]
fn the_stamp_cache_remembers_verification_and_notices_changes() {
    let tmp = TempDir::new("stamps");
    let d = tiny_corpus(&tmp.0);
    let stamps = tmp.0.join("cache");
    let locator = Locator::new([tmp.0.clone()]).with_stamp_dir(Some(stamps.clone()));
    let file = &d.files[0];
    locator.verify(&d, file).unwrap();
    let stamp = fs::read_to_string(stamps.join("verified-sha256.tsv")).unwrap();
    assert!(stamp.starts_with(&file.sha256), "{stamp}");
    // Verified from the stamp, and still after a re-read.
    locator.verify(&d, file).unwrap();
    Corpus::open(&d, &locator).unwrap();
    // A rewritten file (same size, one byte changed) changes the key: it is hashed again.
    let mut changed = TEXT.as_bytes().to_vec();
    changed[0] = b'T';
    let path = tmp.0.join("tiny/all.txt");
    fs::remove_file(&path).unwrap();
    fs::write(&path, &changed).unwrap();
    assert!(matches!(locator.verify(&d, file), Err(DataError::ChecksumMismatch { .. })));
    assert!(Corpus::open(&d, &locator).is_err());
}

#[test]
fn an_unwritable_stamp_cache_never_fails_verification() {
    let tmp = TempDir::new("stamps-unwritable");
    let d = tiny_corpus(&tmp.0);
    // The stamp "directory" is a regular file: nothing can be created under it.
    let blocker = tmp.0.join("blocker");
    fs::write(&blocker, "").unwrap();
    let locator = Locator::new([tmp.0.clone()]).with_stamp_dir(Some(blocker.join("cache")));
    locator.verify(&d, &d.files[0]).unwrap();
    Corpus::open(&d, &locator).unwrap();
}
