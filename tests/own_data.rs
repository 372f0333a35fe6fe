//! The user's own text: `corpora add` with each tokenizer, training and sampling on BPE,
//! `run --text`, the stopping rules, and the `--json` outputs read back.

mod common;

use std::fs;
use std::path::Path;

use common::{TempDir, ok, tinyarch};
use serde_json::Value;
use tinyarch::ir::CheckReport;
use tinyarch::train::{RunRecord, Status, StopRule};

/// About 20 KB of sentences from a small vocabulary, the same on every run (an LCG, no seed crate).
fn text() -> String {
    let words =
        ["the", "cat", "dog", "sat", "on", "mat", "ran", "far", "near", "a", "big", "red", "house", "río", "café"];
    let mut state = 12345u64;
    let mut next = |n: usize| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as usize % n
    };
    let mut out = String::new();
    for _ in 0..600 {
        let n = 4 + next(6);
        let line: Vec<&str> = (0..n).map(|_| words[next(words.len())]).collect();
        out.push_str(&line.join(" "));
        out.push('\n');
    }
    out
}

const TINY_MODEL: &str = "model tiny(context = 16, d = 16) {\n    embedding(dim = d)\n    head()\n}\n";

/// A scratch folder holding `notes.txt` and `tiny.model`.
fn setup(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    fs::write(dir.0.join("notes.txt"), text()).unwrap();
    fs::write(dir.0.join("tiny.model"), TINY_MODEL).unwrap();
    dir
}

/// The names in a folder, sorted.
fn folders(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// The JSON records `run --json` and `sweep --json` print, one per line.
fn records(stdout: &str) -> Vec<RunRecord> {
    stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

#[test]
fn corpora_add_makes_a_corpus_with_each_tokenizer() {
    let dir = setup("add-each");
    let d = &dir.0;
    for (tokenizer, extra, name) in
        [("char", None, "chars"), ("word", None, "words"), ("bpe", Some(["--vocab-size", "300"]), "bpe")]
    {
        let corpus = format!("notes-{tokenizer}");
        let mut args = vec!["corpora", "add", &corpus, "--text", "notes.txt", "--tokenizer", tokenizer, "--data", "d"];
        args.extend(extra.iter().flatten());
        args.push("--json");
        let added: Value = serde_json::from_str(&ok(d, &args)).unwrap();
        assert_eq!(added["name"], corpus.as_str());
        assert_eq!(added["tokenizer"], name);
        for split in ["train", "valid", "test"] {
            assert!(added["tokens"][split].as_u64().unwrap() > 1, "{tokenizer} {split}: {added}");
        }
        let vocab = added["vocab_size"].as_u64().unwrap();
        match tokenizer {
            "char" => assert!((15..40).contains(&vocab), "{vocab}"),
            "word" => assert_eq!(vocab, 16, "15 words and <unk>"),
            _ => assert_eq!(vocab, 300),
        }
        assert!(d.join(format!("d/{corpus}.ron")).is_file());
    }
    // Separate files; a valid word that train lacks becomes `<unk>`.
    fs::write(d.join("train.txt"), "a b a c\nb a\n").unwrap();
    fs::write(d.join("valid.txt"), "a zebra b\n").unwrap();
    let added: Value = serde_json::from_str(&ok(
        d,
        &[
            "corpora",
            "add",
            "split-files",
            "--train",
            "train.txt",
            "--valid",
            "valid.txt",
            "--tokenizer",
            "word",
            "--data",
            "d",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(added["tokens"]["valid"], 3);
    assert!(added["tokens"].get("test").is_none());

    // A BPE trained elsewhere (here, the one just trained) is used as it is.
    let added: Value = serde_json::from_str(&ok(
        d,
        &[
            "corpora",
            "add",
            "reused",
            "--text",
            "notes.txt",
            "--tokenizer",
            "bpe",
            "--from-tokenizer",
            "d/notes-bpe/tokenizer.json",
            "--data",
            "d",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(added["vocab_size"], 300);
    assert_eq!(
        fs::read(d.join("d/reused/tokenizer.json")).unwrap(),
        fs::read(d.join("d/notes-bpe/tokenizer.json")).unwrap()
    );
    let (code, _, stderr) =
        tinyarch(d, &["corpora", "add", "x", "--text", "notes.txt", "--tokenizer", "bpe", "--data", "d"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("needs `--vocab-size N`"), "{stderr}");

    // The listing shows them verified, like the built-in corpora.
    let listing: Value = serde_json::from_str(&ok(d, &["corpora", "--data", "d", "--json"])).unwrap();
    let corpora = listing["corpora"].as_array().unwrap();
    for name in ["notes-char", "notes-word", "notes-bpe", "split-files"] {
        let entry = corpora.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("{name} not listed"));
        assert_eq!(entry["state"], "verified", "{entry}");
        assert!(entry["descriptor"].as_str().unwrap().ends_with(&format!("{name}.ron")));
        assert_eq!(entry["tokenizations"].as_array().unwrap().len(), 1);
    }
    assert!(corpora.iter().any(|c| c["name"] == "ptb" && c["descriptor"].is_null()));
    assert_eq!(listing["data_dirs"][0]["origin"], "`--data`");

    // A changed file is caught on the next use.
    let text_path = d.join("d/notes-char/text.txt");
    fs::write(&text_path, fs::read_to_string(&text_path).unwrap().replace("cat", "cot")).unwrap();
    let (code, _, stderr) =
        tinyarch(d, &["run", "tiny.model", "--corpus", "notes-char", "--data", "d", "--max-steps", "1"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("sha256"), "{stderr}");
}

#[test]
fn a_bpe_corpus_trains_and_samples_decoded_text() {
    let dir = setup("bpe-sample");
    let d = &dir.0;
    ok(
        d,
        &["corpora", "add", "bpe", "--text", "notes.txt", "--tokenizer", "bpe", "--vocab-size", "300", "--data", "d"],
    );
    let stdout = ok(
        d,
        &[
            "run",
            "tiny.model",
            "--corpus",
            "bpe",
            "--data",
            "d",
            "--max-steps",
            "60",
            "--lr",
            "0.01",
            "--json",
            "--out",
            "runs",
        ],
    );
    let [record] = records(&stdout).try_into().unwrap();
    assert_eq!((record.tokenizer.as_str(), record.vocab, record.status), ("bpe", 300, Status::Completed));
    // Learnt from `the cat ...`: the loss is well below a uniform guess, ln 300 = 5.70.
    assert!(record.test_nll.unwrap() < 4.5, "{:?}", record.test_nll);
    let [run] = folders(&d.join("runs/bpe")).try_into().unwrap();
    assert!(run.starts_with("tiny-steps60-s1-"), "{run}");
    let run = format!("runs/bpe/{run}");
    let run = run.as_str();
    let sample = |seed: &str| {
        ok(
            d,
            &[
                "sample",
                run,
                "--data",
                "d",
                "--prompt",
                "the cat",
                "--tokens",
                "30",
                "--temperature",
                "0",
                "--seed",
                seed,
            ],
        )
    };
    let text = sample("1");
    assert!(text.starts_with("the cat") && text.trim_end().len() > "the cat".len() + 10, "{text:?}");
    // Greedy decoding picks learnt pieces, which are whole characters of the text.
    assert!(text.chars().all(|c| c.is_alphabetic() || " \n".contains(c)), "{text:?}");
    assert_eq!(text, sample("2"), "greedy decoding does not depend on the seed");
}

#[test]
fn every_bad_text_is_a_clear_error() {
    let dir = setup("add-errors");
    let d = &dir.0;
    fs::write(d.join("empty.txt"), "").unwrap();
    fs::write(d.join("latin1.txt"), b"caf\xe9 au lait\n").unwrap();
    fs::write(d.join("short.txt"), "one line\nanother\nthird\n").unwrap();
    ok(d, &["corpora", "add", "mine", "--text", "notes.txt", "--data", "d"]);
    let cases: [(&[&str], &str); 8] = [
        (&["corpora", "add", "e", "--text", "empty.txt"], "`empty.txt` is empty"),
        (&["corpora", "add", "l", "--text", "latin1.txt"], "`latin1.txt` is not valid UTF-8 at byte 3"),
        (
            &["corpora", "add", "s", "--text", "notes.txt", "--split", "0.999,0.0005,0.0005"],
            "split of the new corpus holds 0 tokens",
        ),
        (
            &[
                "corpora",
                "add",
                "v",
                "--text",
                "short.txt",
                "--split",
                "0.4,0.3,0.3",
                "--tokenizer",
                "bpe",
                "--vocab-size",
                "5000",
            ],
            "fewer than the 5000 asked for",
        ),
        (
            &["corpora", "add", "v", "--text", "notes.txt", "--tokenizer", "bpe", "--vocab-size", "200"],
            "starts from the 256 bytes",
        ),
        (&["corpora", "add", "mine", "--text", "notes.txt"], "a corpus called `mine` already exists"),
        (&["corpora", "add", "ptb", "--text", "notes.txt"], "a corpus called `ptb` already exists (built in)"),
        (&["corpora", "add", "../up", "--text", "notes.txt"], "`../up` cannot name a corpus"),
    ];
    for (args, message) in cases {
        let args: Vec<&str> = args.iter().copied().chain(["--data", "d"]).collect();
        let (code, _, stderr) = tinyarch(d, &args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: expected `{message}` in:\n{stderr}");
    }
    // Nothing was left behind by the failures.
    let mut names: Vec<String> =
        fs::read_dir(d.join("d")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["mine", "mine.ron"]);

    // A split too small for the model's window is named when the run starts.
    ok(d, &["corpora", "add", "short", "--text", "short.txt", "--split", "0.4,0.3,0.3", "--data", "d"]);
    let (code, _, stderr) = tinyarch(d, &["run", "tiny.model", "--corpus", "short", "--data", "d", "--max-steps", "1"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("split `train`") && stderr.contains("too few for one window of 16 tokens"), "{stderr}");
}

#[test]
fn run_text_adds_the_file_once_and_trains_on_it() {
    let dir = setup("run-text");
    let d = &dir.0;
    let run = |steps: &str| {
        records(&ok(d, &["run", "tiny.model", "--text", "notes.txt", "--data", "d", "--max-steps", steps, "--json"]))
    };
    let [first] = run("3").try_into().unwrap();
    assert!(first.corpus.starts_with("notes-") && first.corpus.len() == "notes-".len() + 8, "{}", first.corpus);
    assert_eq!((first.tokenizer.as_str(), first.split_set.as_str()), ("chars", "main"));
    let [second] = run("4").try_into().unwrap();
    assert_eq!(second.corpus, first.corpus);
    let descriptors: Vec<_> =
        fs::read_dir(d.join("d")).unwrap().filter(|e| e.as_ref().unwrap().path().is_file()).collect();
    assert_eq!(descriptors.len(), 1, "the unchanged file is reused, not added again");
    // An edited file is another corpus, so its runs cannot mix with the first one's.
    fs::write(d.join("notes.txt"), text().replace("dog", "fox")).unwrap();
    let [third] = run("3").try_into().unwrap();
    assert_ne!(third.corpus, first.corpus);
}

#[test]
fn each_stopping_rule_ends_a_run_and_the_record_names_it() {
    let dir = setup("stop-rules");
    let d = &dir.0;
    ok(d, &["corpora", "add", "notes", "--text", "notes.txt", "--data", "d"]);
    let run = |limits: &[&str]| -> RunRecord {
        let mut args = vec!["run", "tiny.model", "--corpus", "notes", "--data", "d", "--json", "--batch", "1000"];
        args.extend(limits);
        let [record] = records(&ok(d, &args)).try_into().unwrap();
        record
    };
    let steps = run(&["--max-steps", "7"]);
    assert_eq!((steps.stopped_by, steps.steps, steps.budget), (Some(StopRule::MaxSteps), 7, None));
    // 10,000 windows per epoch in batches of 1,000.
    let epochs = run(&["--epochs", "2"]);
    assert_eq!((epochs.stopped_by, epochs.steps), (Some(StopRule::Epochs), 20));
    let time = run(&["--max-time", "1s", "--epochs", "100000"]);
    assert_eq!(time.stopped_by, Some(StopRule::MaxTime));
    assert!(time.steps > 0 && time.valid_nll.is_some(), "{time:?}");
    // A budget beside a looser rule: the budget, 3.5 steps' worth, comes first.
    let per_step = steps.flops_per_sample.exact as f64 * 1000.0;
    let budget = format!("{}", per_step * 3.5);
    let both = run(&["--budget", &budget, "--max-steps", "100"]);
    assert_eq!((both.stopped_by, both.steps, both.budget), (Some(StopRule::Budget), 3, Some(per_step * 3.5)));
    // Every record gives its FLOPs in every convention, so rules compare.
    for r in [&steps, &epochs, &time, &both] {
        let per = &r.flops_per_sample;
        let samples = u128::from(r.samples);
        assert_eq!(
            (r.flops_used.exact, r.flops_used.kaplan, r.flops_used.paper),
            (samples * per.exact, samples * per.kaplan, samples * per.paper)
        );
        assert!(r.flops_used.paper > 0);
    }
    // Each set of limits has its own folder, named by the limits and a hash of the rest.
    let names: Vec<String> =
        folders(&d.join("runs/notes")).iter().map(|f| f.rsplit_once('-').unwrap().0.to_string()).collect();
    let budget_name = format!("tiny-{}-exact-steps100-s1", tinyarch::units::human(per_step as u64 * 7 / 2));
    assert_eq!(names, [budget_name.as_str(), "tiny-e100000-t1s-s1", "tiny-e2-s1", "tiny-steps7-s1"]);
    // Without any limit, the command line says what is missing.
    let (code, _, stderr) = tinyarch(d, &["run", "tiny.model", "--corpus", "notes", "--data", "d"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--budget"), "{stderr}");
}

#[test]
fn json_outputs_read_back_into_the_library_types() {
    let dir = setup("json");
    let d = &dir.0;
    fs::write(d.join("broken.model"), "model broken(context = 4) {\n    no_such_layer()\n}\n").unwrap();
    let (code, stdout, _) = tinyarch(d, &["check", "tiny.model", "broken.model", "--vocab", "30", "--json"]);
    assert_eq!(code, Some(1), "one file does not check");
    let files: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(files[0]["status"], "model");
    let report: CheckReport = serde_json::from_value(files[0]["report"].clone()).unwrap();
    assert_eq!((report.model.as_str(), report.vocab, report.context), ("tiny", 30, 16));
    assert_eq!(report.totals.params, 30 * 16 + 16 * 30 + 30);
    assert_eq!(report.layers.iter().map(|l| l.params).sum::<u64>(), report.totals.params);
    // The text table is the same report rendered.
    let text = ok(d, &["check", "tiny.model", "--vocab", "30"]);
    assert_eq!(text, format!("tiny.model\n{}", report.to_text()));
    assert_eq!(files[1]["status"], "error");
    let diagnostic = &files[1]["diagnostics"][0];
    assert_eq!((diagnostic["code"].as_str(), diagnostic["line"].as_u64()), (Some("M0002"), Some(2)));

    // A sweep's records, one JSON line per cell, with the summary on stderr.
    ok(d, &["corpora", "add", "notes", "--text", "notes.txt", "--data", "d"]);
    fs::write(
        d.join("tiny.ron"),
        r#"(
    corpus: "notes",
    models: [(file: "tiny.model")],
    budgets: [2e7, 4e7],
    seeds: [1],
    settings: (batch: 32, train: Study(samples: 64), max_eval_batches: 2),
)"#,
    )
    .unwrap();
    let (code, stdout, stderr) = tinyarch(d, &["sweep", "tiny.ron", "--data", "d", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let swept = records(&stdout);
    assert_eq!(swept.iter().map(|r| r.budget).collect::<Vec<_>>(), [Some(2e7), Some(4e7)]);
    assert!(swept.iter().all(|r| r.stopped_by == Some(StopRule::Budget)));
    assert!(stderr.contains("2 cells trained"), "{stderr}");
    // Run again: the finished records are printed again, nothing is trained.
    let (_, again, stderr) = tinyarch(d, &["sweep", "tiny.ron", "--data", "d", "--json", "--quiet"]);
    assert_eq!(records(&again), swept);
    assert!(stderr.contains("0 cells trained, 2 already finished"), "{stderr}");
}

#[test]
fn quiet_runs_print_only_the_results() {
    let dir = setup("quiet");
    let d = &dir.0;
    let (code, stdout, stderr) =
        tinyarch(d, &["--quiet", "run", "tiny.model", "--text", "notes.txt", "--data", "d", "--max-steps", "3"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "", "no notes under --quiet");
    assert!(!stdout.contains("step") || stdout.starts_with("\n| model"), "progress lines under --quiet:\n{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("| tiny")).count(), 1, "{stdout}");
}
