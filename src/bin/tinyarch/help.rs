//! The long help's examples (`tinyarch COMMAND --help`), exit codes and environment variables.

/// After `tinyarch --help`.
pub const MAIN: &str = "\
Examples:
  tinyarch check models/                      shapes, parameters and FLOPs of every model
  tinyarch run models/study --corpus tiny-shakespeare --budget 1e12
  tinyarch corpora add notes --text notes.txt --tokenizer bpe --vocab-size 512
  tinyarch sweep experiments/study.ron && tinyarch report runs/study

Exit status:
  0    success
  1    an error: a model that does not check, a run that did not complete, missing or corrupt data
  2    wrong command-line arguments
  3    the device asked for cannot be used here: no CUDA in this build, no driver, or no GPU
  130  stopped by Ctrl-C (SIGINT); what was complete is saved (run the same command again to go on)
  143  stopped by SIGTERM (a scheduler stopping the job), likewise; a second signal exits at once

Environment:
  TINYARCH_DATA    a data directory searched after `--data` and before the user cache
  TINYARCH_CACHE   the user cache, where `corpora fetch` and `corpora add` write by default
  TINYARCH_MIRROR  download corpora from `<mirror>/<corpus dir>/<file>` instead of their URLs
  NO_COLOR         no colour in diagnostics under `--color auto`
  RAYON_NUM_THREADS  CPU threads for training (default: one per core)";

pub const CHECK: &str = "\
Examples:
  tinyarch check models/study/transformer.model --vocab 65
  tinyarch check models/ --vocab 10000 --set context=64 --objective all
  tinyarch check models/gpt.model --vocab 65 --json | jq '.[0].report.totals'";

pub const GRAPH: &str = "\
Examples:
  tinyarch graph models/gpt.model --vocab 65
  tinyarch graph models/gpt.model --vocab 65 --format dot | dot -Tsvg > gpt.svg";

pub const RUN: &str = "\
Examples:
  tinyarch run models/study --corpus tiny-shakespeare --budget 1e12
  tinyarch run models/gpt.model --corpus ptb --epochs 3 --max-time 20m
  tinyarch run models/gpt.model --text notes.txt --max-steps 500
  tinyarch run models/gpt.model --corpus tiny-shakespeare --budget 1e12 --json > records.jsonl

Run folders go to `<out>/<corpus>/<model>-<limits>-s<seed>`. Each stopping rule can stand alone or
beside the others; the first limit reached ends training, and the record's `stopped_by` names it.";

pub const EVAL: &str = "\
Examples:
  tinyarch eval runs/tiny-shakespeare/gpt-1.00e12-exact-s1 --corpus tiny-shakespeare
  tinyarch eval runs/tiny-shakespeare/gpt-1.00e12-exact-s1 --corpus tiny-shakespeare --full";

pub const SAMPLE: &str = "\
Examples:
  tinyarch sample runs/tiny-shakespeare/gpt-1.00e12-exact-s1 --prompt 'ROMEO:' --tokens 200
  tinyarch sample runs/tiny-shakespeare/gpt-1.00e12-exact-s1 --temperature 0.8 --top-k 10";

pub const SWEEP: &str = "\
Examples:
  tinyarch sweep experiments/study.ron
  tinyarch sweep experiments/study.ron --dry-run --shard 0/4
  tinyarch sweep experiments/study.ron --shard $SLURM_ARRAY_TASK_ID/4 --json >> records.jsonl

A cell whose folder holds a finished record with the same settings is not trained again.";

pub const REPORT: &str = "\
Examples:
  tinyarch report runs/study
  tinyarch report runs/study runs/extra --out reports/combined
  tinyarch report runs/iso-flop --out book/src/reports/iso-flop --keep-records";

pub const BENCH: &str = "\
Examples:
  tinyarch bench models/gpt.model --vocab 65 --steps 20
  tinyarch bench models/gpt.model --vocab 65 --pytorch .venv/bin/python";

pub const FMT: &str = "\
Examples:
  tinyarch fmt models/
  tinyarch fmt --check models/";

pub const LSP: &str = "\
Examples:
  tinyarch lsp          started by an editor, which talks to it over stdin and stdout";

pub const COMPLETIONS: &str = "\
Examples:
  tinyarch completions bash > ~/.local/share/bash-completion/completions/tinyarch
  tinyarch completions zsh > ~/.zfunc/_tinyarch
  tinyarch completions fish > ~/.config/fish/completions/tinyarch.fish";

pub const MAN: &str = "\
Examples:
  tinyarch man > tinyarch.1 && man ./tinyarch.1";

pub const CORPORA: &str = "\
Examples:
  tinyarch corpora
  tinyarch corpora --json
  tinyarch corpora fetch ptb
  tinyarch corpora add notes --text notes.txt --tokenizer bpe --vocab-size 512";

pub const CORPORA_FETCH: &str = "\
Examples:
  tinyarch corpora fetch wikitext-2
  tinyarch corpora fetch ptb --data ~/corpora";

pub const CORPORA_ADD: &str = "\
Examples:
  tinyarch corpora add notes --text notes.txt
  tinyarch corpora add notes --text notes.txt --split 0.8,0.1,0.1 --tokenizer word
  tinyarch corpora add novels --train train.txt --valid valid.txt --test test.txt --tokenizer bpe --vocab-size 2000
  tinyarch corpora add web --text web.txt --tokenizer bpe --from-tokenizer gpt2/tokenizer.json

The corpus is copied into `<folder>/<name>/` with `<folder>/<name>.ron`, its descriptor, which
records every file's SHA-256; the folder is `--data DIR` or else the user cache. From then on
`--corpus NAME` uses it like a built-in corpus, and its files are verified on every use.";

pub const LAYERS: &str = "\
Examples:
  tinyarch layers
  tinyarch layers --markdown > layers.md";
