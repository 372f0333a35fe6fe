//! The built-in corpora, tokenized, pinned to the counts of the corpora README.
//!
//! Data comes from `$TINYARCH_DATA`, else `../shared/corpora` next to the repository.

mod common;
use common::data_dir;

use md5::{Digest, Md5};
use tinyarch::data::{self, Corpus, Dataset, Locator, Split};

/// Searches only the shared corpora, hashing every file (no stamp cache).
fn locator() -> Locator {
    Locator::new([data_dir()])
}

fn open(name: &str) -> Corpus {
    let descriptor = data::builtin(name).unwrap();
    Corpus::open(&descriptor, &locator()).unwrap_or_else(|e| panic!("{e}"))
}

fn lens(ds: &Dataset) -> Vec<usize> {
    Split::ALL.iter().filter_map(|&s| ds.split(s).map(|t| t.len())).collect()
}

fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn tiny_shakespeare_study_split_and_characters() {
    let corpus = open("tiny-shakespeare");
    let ds = corpus.dataset(Some("study"), Some("chars")).unwrap();
    assert_eq!(ds.vocab_size(), 65);
    assert_eq!(ds.vocab().token(0), Some("\n"));
    assert_eq!(ds.vocab().token(1), Some(" "));
    assert_eq!(ds.vocab().token(64), Some("z"));
    assert_eq!(lens(&ds), [892_117, 111_669, 111_606]);
    // 65 symbols fit in u16: two bytes per token.
    assert_eq!(ds.train.memory_bytes(), 2 * 892_117);

    let expected = [
        (Split::Train, "First Citizen:", "def49bce5e5cfa77db4af90cfe88ff40"),
        (Split::Valid, "ANGELO:", "1518e307eb81a6aa8481b26d0bf688a6"),
        (Split::Test, "BAPTISTA:", "dea58de6ba2282b564865df82d9f17f7"),
    ];
    for (split, start, md5) in expected {
        let text = corpus.text(Some("study"), split).unwrap().unwrap();
        assert!(text.starts_with(start), "{split} starts with {:?}", &text[..20]);
        assert_eq!(md5_hex(text), md5, "md5 of split {split}");
    }
    // The decoded training stream is the training text.
    let train_text = corpus.text(Some("study"), Split::Train).unwrap().unwrap();
    assert_eq!(ds.tokenizer.decode(&ds.train.to_vec()), train_text);
}

#[test]
fn tiny_shakespeare_nanogpt_split_covers_the_whole_file() {
    let ds = open("tiny-shakespeare").dataset(Some("nanogpt"), None).unwrap();
    assert_eq!(ds.tokenizer_name, "chars");
    assert_eq!(lens(&ds), [1_003_854, 111_540]);
    assert_eq!(ds.train.len() + ds.valid.len(), 1_115_394);
    assert!(ds.test.is_none());
    assert_eq!(ds.vocab_size(), 65);
}

#[test]
fn ptb_standard_and_study_tokenizers() {
    let corpus = open("ptb");
    let standard = corpus.dataset(None, Some("standard")).unwrap();
    assert_eq!(lens(&standard), [929_589, 73_760, 82_430]);
    assert_eq!(standard.vocab_size(), 10_000);
    assert!(standard.vocab().tokens().iter().any(|t| t == "<eos>"));

    let study = corpus.dataset(None, Some("study")).unwrap();
    assert_eq!(lens(&study), [887_521, 70_390, 78_669]);
    assert_eq!(study.vocab_size(), 9_999);
    let tokens = study.vocab().tokens();
    assert!(tokens.windows(2).all(|w| w[0] < w[1]), "byte order");
    assert!(tokens.iter().any(|t| t == "<unk>"));
    assert!(!tokens.iter().any(|t| t == "<eos>"));
    // The default tokenizer is the study's.
    assert_eq!(corpus.dataset(None, None).unwrap().tokenizer_name, "study");
}

#[test]
fn wikitext_2_standard_and_study_tokenizers() {
    let corpus = open("wikitext-2");
    let standard = corpus.dataset(None, Some("standard")).unwrap();
    assert_eq!(lens(&standard), [2_088_628, 217_646, 245_569]);
    assert_eq!(standard.vocab_size(), 33_278);
    assert_eq!(standard.train.memory_bytes(), 2 * 2_088_628, "u16 ids");

    let study = corpus.dataset(None, Some("study")).unwrap();
    assert_eq!(lens(&study), [2_051_910, 213_886, 241_211]);
    assert_eq!(study.vocab_size(), 33_277);
}

#[test]
fn load_resolves_the_corpus_by_name() {
    let ds = data::load("ptb", &locator(), Some("standard"), Some("study")).unwrap();
    assert_eq!((ds.corpus.as_str(), ds.split_set.as_str()), ("ptb", "standard"));
    assert_eq!(ds.train.len(), 887_521);
}

#[test]
fn inspect_reports_verified_files_and_counts() {
    let d = data::builtin("tiny-shakespeare").unwrap();
    let status = data::inspect(&d, &locator());
    assert!(status.verified());
    let counts = status.counts.unwrap();
    let study = counts.iter().find(|c| c.split_set == "study").unwrap();
    assert_eq!(study.vocab_size, 65);
    assert_eq!(study.splits, [(Split::Train, 892_117), (Split::Valid, 111_669), (Split::Test, 111_606)]);
}
