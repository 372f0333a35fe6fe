#!/usr/bin/env bash
# Builds tinyarch with CUDA on a machine without a GPU or a driver (toolkit and flags from
# env.sh), checks the binary with check-binary.sh, and packs what a GPU machine needs into
# target/cuda-bundle/: the binary, the CUDA test executables (reference, conformance and
# training tests), the models, the fixtures and Tiny Shakespeare. See tools/cuda/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export TINYARCH_DATA=${TINYARCH_DATA:-../shared/corpora}
# shellcheck source=tools/cuda/env.sh
source tools/cuda/env.sh
started=$(date +%s)
cargo build --release --features cuda
echo "binary built in $(($(date +%s) - started)) s with CUDA $(nvcc --version | grep -o 'release [0-9.]*' | cut -d' ' -f2)"
bin=$CARGO_TARGET_DIR/release/tinyarch
tools/cuda/check-binary.sh "$bin"

# The tests that select the GPU in a CUDA build, as executables for a machine without cargo.
tests=(reference conformance train_real)
cargo test --release --features cuda "${tests[@]/#/--test=}" --no-run --message-format=json > target/cuda-tests.json
echo "binary and tests built in $(($(date +%s) - started)) s"

bundle=target/cuda-bundle
rm -rf "$bundle" && mkdir -p "$bundle/data/tiny-shakespeare" "$bundle/tests/fixtures"
cp "$bin" tools/cuda/on_gpu.sh tools/cuda/check-binary.sh tools/bench/pytorch_bench.py "$bundle/"
python3 -c '
import json, shutil, sys
bundle, wanted = sys.argv[1], set(sys.argv[2:])
for line in open("target/cuda-tests.json"):
    m = json.loads(line)
    name = m.get("target", {}).get("name")
    if m.get("reason") == "compiler-artifact" and m.get("executable") and name in wanted:
        shutil.copy(m["executable"], f"{bundle}/test-{name}")
' "$bundle" "${tests[@]}"
# Debug information is for this machine's debugger; the GPU machine gets lean executables.
strip "$bundle/tinyarch" "$bundle"/test-*
cp -r models experiments "$bundle/"
cp -r tests/fixtures/reference "$bundle/tests/fixtures/"
cp "$TINYARCH_DATA/tiny-shakespeare/input.txt" "$bundle/data/tiny-shakespeare/"
tar -C target -czf target/cuda-bundle.tar.gz cuda-bundle
ls -lh target/cuda-bundle.tar.gz
