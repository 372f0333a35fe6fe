//! How long encoding takes: the WikiText-2 training file must encode in under a second in a
//! release build. Run with `cargo bench --bench encode`; prints the median of several runs in ms.
//! Data comes from `$TINYARCH_DATA`, else `../shared/corpora` next to the repository.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tinyarch::data::{self, Corpus, Locator, Tokenizer, VocabOrder};

fn data_dir() -> PathBuf {
    match std::env::var_os("TINYARCH_DATA") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora"),
    }
}

/// Runs `f` `runs` times and prints the median wall time.
fn time<T>(label: &str, runs: usize, mut f: impl FnMut() -> T) -> T {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(std::hint::black_box(f()));
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{label:<58} median {:>8.1} ms  (min {:.1}, max {:.1}, {runs} runs)",
        times[runs / 2],
        times[0],
        times[runs - 1]
    );
    last.expect("at least one run")
}

fn main() {
    let locator = Locator::new([data_dir()]);
    let wiki = data::builtin("wikitext-2").expect("built-in descriptor");
    let train_file = &wiki.files[0];
    let text = time("wikitext-2 train: read + sha256 verify (10.8 MB)", 5, || {
        let (_, bytes) = locator.read_verified(&wiki, train_file).expect("verified file");
        String::from_utf8(bytes).expect("UTF-8")
    });

    let (tok, stream) = time("wikitext-2 train: build vocabulary + encode, with <eos>", 5, || {
        Tokenizer::words(&text, Some("<eos>"), VocabOrder::FirstSeen, None)
    });
    assert_eq!((stream.len(), tok.vocab().len()), (2_088_628, 33_278));
    time("wikitext-2 train: build vocabulary + encode, study (sorted)", 5, || {
        Tokenizer::words(&text, None, VocabOrder::Sorted, None)
    });
    let encoded =
        time("wikitext-2 train: encode with a built vocabulary", 5, || tok.encode(&text).expect("in vocabulary"));
    assert_eq!(encoded.len(), 2_088_628);

    time("wikitext-2: open (verify 3 files) + tokenize all splits", 3, || {
        Corpus::open(&wiki, &locator).and_then(|c| c.dataset(None, Some("standard"))).expect("dataset")
    });
    time("tiny-shakespeare: open + tokenize (chars)", 5, || {
        data::load("tiny-shakespeare", &locator, None, None).expect("dataset")
    });
}
