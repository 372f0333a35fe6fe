#!/usr/bin/env bash
# The speed benchmark's configurations, each timed beside PyTorch on the same model and machine
# (PyTorch with 2 threads). Usage: tools/bench/suite.sh PYTHON [STEPS]
# where PYTHON has torch installed (`pip install torch safetensors`). Run on a quiet machine.
set -euo pipefail
python=${1:?usage: tools/bench/suite.sh PYTHON [STEPS]}
steps=${2:-10}
cd "$(dirname "$0")/../.."
cargo build --release --quiet
bench() {
    echo "== $*"
    target/release/tinyarch bench "$@" --steps "$steps" --warmup 2 --pytorch "$python"
}
# The study's 3-layer post-LN transformer, T=128, batch 64: identical work, then the study's objective.
bench models/study/transformer.model --vocab 65 --objective all
bench models/study/transformer.model --vocab 65 --objective last
# The GPT in models/ as it is (4 pre-LN blocks, GELU, tied head), T=128, batch 64.
bench models/gpt.model --vocab 65 --objective all
# Word level: PTB's vocabulary, T=64, batch 32, where the output head dominates.
bench models/study/transformer.model --vocab 9999 --set context=64 --batch 32 --objective last
