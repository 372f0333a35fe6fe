//! Samplers: reproducible from a seed, targets are next tokens, evaluation windows in order.
//!
//! Most tests use a stream whose token at position `p` is `p`, so a window's ids say where it
//! starts and what its targets must be.

mod common;
use common::data_dir;

use tinyarch::data::{self, Batch, DataError, Locator, Objective, Sampler, SamplerConfig, TokenStream, Windows};

/// Tokens `0, 1, ..., n - 1`.
fn positions(n: usize) -> TokenStream {
    TokenStream::new((0..n as u32).collect(), n)
}

fn collect(sampler: &Sampler, epoch: u64) -> Vec<Batch> {
    sampler.epoch(epoch).collect()
}

/// The start of every row (its first id, on a `positions` stream).
fn starts(batches: &[Batch]) -> Vec<u32> {
    batches.iter().flat_map(|b| b.ids.chunks(b.context).map(|row| row[0])).collect()
}

#[test]
fn the_same_seed_gives_the_same_batches_and_other_seeds_or_epochs_differ() {
    let ds = data::load("tiny-shakespeare", &Locator::new([data_dir()]), None, None).unwrap();
    let config = SamplerConfig::study_train(128, 32, 100, None, 7);
    let a = Sampler::new(&ds.train, config).unwrap();
    let b = Sampler::new(&ds.train, config).unwrap();
    assert_eq!(collect(&a, 0), collect(&b, 0));
    assert_eq!(collect(&a, 3), collect(&b, 3));
    assert_ne!(collect(&a, 0), collect(&a, 1));
    let c = Sampler::new(&ds.train, SamplerConfig { seed: 8, ..config }).unwrap();
    assert_ne!(collect(&a, 0), collect(&c, 0));

    let shuffled = SamplerConfig::standard_train(64, 16, 7);
    let s1 = Sampler::new(&ds.train, shuffled).unwrap();
    let s2 = Sampler::new(&ds.train, SamplerConfig { seed: 9, ..shuffled }).unwrap();
    assert_eq!(collect(&s1, 2), collect(&s1, 2));
    assert_ne!(collect(&s1, 2), collect(&s2, 2));
}

#[test]
fn random_windows_predict_the_next_token_within_the_first_tokens() {
    let tokens = positions(10_000);
    let config = SamplerConfig::study_train(8, 10, 95, Some(1_000), 1);
    let sampler = Sampler::new(&tokens, config).unwrap();
    assert_eq!(sampler.objective(), Objective::Last);
    let batches = collect(&sampler, 0);
    // 95 samples in batches of 10: nine full batches and a final one of 5 rows.
    assert_eq!(sampler.batches_per_epoch(), 10);
    assert_eq!(batches.len(), 10);
    assert!(batches[..9].iter().all(|b| b.batch == 10));
    assert_eq!(batches[9].batch, 5);
    for b in &batches {
        assert_eq!((b.context, b.objective), (8, Objective::Last));
        assert_eq!(b.ids.len(), b.batch * 8);
        assert_eq!(b.targets.len(), b.batch);
        for (row, &target) in b.ids.chunks(8).zip(&b.targets) {
            assert!(row.windows(2).all(|w| w[1] == w[0] + 1));
            assert_eq!(target, row[7] + 1, "the target is the next token");
            assert!(target < 1_000, "window and target within the first 1000 tokens");
        }
    }
    // Starts are drawn with replacement over all 992 possible starts.
    let all: Vec<u32> = (0..200).flat_map(|e| starts(&collect(&sampler, e))).collect();
    assert_eq!(*all.iter().min().unwrap(), 0);
    assert_eq!(*all.iter().max().unwrap(), 991);
}

#[test]
fn first_windows_evaluation_slides_by_one_in_order() {
    let tokens = positions(100);
    let sampler = Sampler::new(&tokens, SamplerConfig::study_eval_windows(10, 4, 30)).unwrap();
    let batches = collect(&sampler, 0);
    assert_eq!(starts(&batches), (0..30).collect::<Vec<_>>());
    let targets: Vec<u32> = batches.iter().flat_map(|b| b.targets.clone()).collect();
    assert_eq!(targets, (10..40).collect::<Vec<_>>());
    assert_eq!(batches.last().unwrap().batch, 2);
    // Epochs and seeds do not change an evaluation.
    assert_eq!(collect(&sampler, 5), batches);
    // Asking for more windows than the split has gives all of them.
    let all = Sampler::new(&tokens, SamplerConfig::study_eval_windows(10, 4, 1_000)).unwrap();
    assert_eq!(all.windows_per_epoch(), 90);
    assert_eq!(starts(&collect(&all, 0)).last(), Some(&89));
}

#[test]
fn first_tokens_evaluation_uses_the_windows_inside_those_tokens() {
    let tokens = positions(100);
    let sampler = Sampler::new(&tokens, SamplerConfig::study_eval_tokens(10, 8, 50)).unwrap();
    let batches = collect(&sampler, 0);
    assert_eq!(starts(&batches), (0..40).collect::<Vec<_>>());
    let targets: Vec<u32> = batches.iter().flat_map(|b| b.targets.clone()).collect();
    assert_eq!(targets, (10..50).collect::<Vec<_>>());
    assert_eq!(sampler.targets_per_epoch(), 40);
}

#[test]
fn standard_evaluation_predicts_every_token_once_in_order() {
    let tokens = positions(103);
    let sampler = Sampler::new(&tokens, SamplerConfig::standard_eval(10, 4)).unwrap();
    assert_eq!(sampler.objective(), Objective::All);
    let batches = collect(&sampler, 0);
    // 102 scored positions: ten windows of 10 (batches of 4, 4, 2) and a tail of 2.
    let shapes: Vec<(usize, usize)> = batches.iter().map(|b| (b.batch, b.context)).collect();
    assert_eq!(shapes, [(4, 10), (4, 10), (2, 10), (1, 2)]);
    assert_eq!(sampler.batches_per_epoch(), 4);
    assert_eq!(sampler.targets_per_epoch(), 102);
    let ids: Vec<u32> = batches.iter().flat_map(|b| b.ids.clone()).collect();
    let targets: Vec<u32> = batches.iter().flat_map(|b| b.targets.clone()).collect();
    assert_eq!(ids, (0..102).collect::<Vec<_>>());
    assert_eq!(targets, (1..103).collect::<Vec<_>>());
}

#[test]
fn standard_training_shuffles_whole_windows_and_drops_the_tail() {
    let tokens = positions(103);
    let sampler = Sampler::new(&tokens, SamplerConfig::standard_train(10, 3, 5)).unwrap();
    let batches = collect(&sampler, 0);
    assert!(batches.iter().all(|b| b.context == 10));
    assert_eq!(batches.iter().map(|b| b.batch).sum::<usize>(), 10);
    for b in &batches {
        for (row, targets) in b.ids.chunks(10).zip(b.targets.chunks(10)) {
            let next: Vec<u32> = row.iter().map(|x| x + 1).collect();
            assert_eq!(targets, next.as_slice());
        }
    }
    let mut s = starts(&batches);
    assert_ne!(s, (0..10).map(|j| j * 10).collect::<Vec<_>>(), "shuffled");
    s.sort_unstable();
    assert_eq!(s, (0..10).map(|j| j * 10).collect::<Vec<_>>(), "each window once");
    assert_ne!(starts(&collect(&sampler, 1)), starts(&batches));
}

#[test]
fn bad_settings_are_errors() {
    let tokens = positions(10);
    let bad = [
        SamplerConfig::study_train(0, 4, 10, None, 1),
        SamplerConfig::study_train(4, 0, 10, None, 1),
        SamplerConfig::study_train(4, 4, 0, None, 1),
        SamplerConfig::study_train(10, 4, 10, None, 1),
        SamplerConfig::study_train(4, 4, 10, Some(4), 1),
        SamplerConfig::study_eval_windows(10, 4, 5),
        SamplerConfig::study_eval_tokens(5, 4, 5),
        SamplerConfig::standard_train(10, 4, 1),
        SamplerConfig { context: 3, batch_size: 1, windows: Windows::Contiguous { shuffle: false }, seed: 0 },
    ];
    for config in &bad[..bad.len() - 1] {
        let err = Sampler::new(&tokens, *config).unwrap_err();
        assert!(matches!(err, DataError::Sampler { .. }), "{config:?}: {err}");
        assert!(err.to_string().contains("\nhelp: "), "{err}");
    }
    // An evaluation shorter than one window still scores what there is.
    let three = positions(3);
    let short = Sampler::new(&three, bad[bad.len() - 1]).unwrap();
    assert_eq!(short.targets_per_epoch(), 2);
}
