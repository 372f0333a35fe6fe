#!/usr/bin/env bash
# On the GPU machine, inside the bundle that build.sh packs (target/cuda-bundle): every check the
# first GPU run needs, each figure printed, in well under 10 minutes of GPU time.
#   1. the binary: no CUDA library among its dependencies, help and a CPU run work;
#   2. the reference, conformance and training tests on the GPU;
#   3. the study transformer for 300 steps on the GPU beside the CPU, dropout off, the two
#      training-loss curves compared step by step;
#   4. `tinyarch bench` beside PyTorch on the GPU: the study transformer, and the GPT at T=128
#      with batch 64 and 256 (tokens/s and GPU memory);
#   5. the study's main-table transformer (4 epochs under its protocol): test NLL and wall time.
# `on_gpu.sh --dry-run` runs every step on the CPU, shortened, to find the script's own bugs
# before GPU time is spent. PYTHON names a Python with PyTorch (default python3).
set -uo pipefail
cd "$(dirname "$0")"
here=$PWD
device=cuda steps=300 bench_steps=20 epochs=4 samples=50000 windows=10000
if [ "${1:-}" = --dry-run ]; then
    device=cpu steps=20 bench_steps=2 epochs=1 samples=640 windows=640
fi
python=${PYTHON:-python3}
export TINYARCH_DATA=$here/data TINYARCH_REPO=$here TINYARCH_SCRATCH=$here/scratch
failures=()
section() { echo; echo "== $* ($(date +%T))"; }
step() { # step NAME COMMAND...: runs it, times it, remembers a failure and goes on
    local name=$1 start=$SECONDS
    shift
    "$@"
    local code=$?
    echo "-- $name: exit $code in $((SECONDS - start)) s"
    [ "$code" = 0 ] || failures+=("$name (exit $code)")
}

section "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2> /dev/null || echo "no nvidia-smi"
ldconfig -p 2> /dev/null | grep -E 'libcuda.so.1|libnvrtc.so|libcublas.so' || echo "no CUDA libraries in the loader's cache"
# No system nvrtc or cuBLAS: use the ones of the machine's PyTorch, if it has them.
if ! ldconfig -p 2> /dev/null | grep -q 'libcublas.so'; then
    torch_libs=$("$python" -c 'import nvidia, os; p = os.path.dirname(nvidia.__path__[0]) + "/nvidia"; print(":".join(os.path.join(p, d, "lib") for d in sorted(os.listdir(p))))' 2> /dev/null || true)
    [ -n "$torch_libs" ] && export LD_LIBRARY_PATH="$torch_libs:${LD_LIBRARY_PATH:-}" && echo "CUDA libraries from PyTorch's environment"
fi
"$python" -c 'import torch; print("pytorch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2> /dev/null || echo "no PyTorch"

section "1. the binary"
step check-binary ./check-binary.sh ./tinyarch

section "2. reference, conformance and training tests on $device"
for t in reference conformance train_real; do
    if [ "$device" = cuda ]; then
        step "test $t" "./test-$t" --test-threads 1
    else
        # The test executables are CUDA builds: on the CPU, only check that they start.
        step "test $t (listed)" "./test-$t" --list
    fi
done

section "3. the study transformer, $steps steps on $device beside the CPU, dropout off"
for d in "$device" cpu; do
    step "curve $d" ./tinyarch run models/study/transformer.model --corpus tiny-shakespeare \
        --max-steps "$steps" --set p=0.0 --seed 689 --device "$d" --quiet --out "runs-curve-$d"
done
"$python" - "$device" <<'PY'
import glob, json, sys
def curve(d):
    path = glob.glob(f"runs-curve-{d}/tiny-shakespeare/*/curve.jsonl")[0]
    return {r["step"]: r["train_loss"] for r in map(json.loads, open(path)) if r.get("train_loss") is not None}
a, b = curve(sys.argv[1]), curve("cpu")
steps = sorted(set(a) & set(b))
diffs = [abs(a[s] - b[s]) for s in steps]
print(f"steps compared: {len(steps)}; largest |{sys.argv[1]} - cpu| train loss: {max(diffs):.3g} "
      f"(first 10 steps: {max(diffs[:10]):.3g}); at the last step: {diffs[-1]:.3g}")
for s in steps[:: max(1, len(steps) // 10)] + steps[-1:]:
    print(f"  step {s:>4}  {sys.argv[1]} {a[s]:.5f}  cpu {b[s]:.5f}")
for d in dict.fromkeys([sys.argv[1], "cpu"]):
    rec = json.loads(open(glob.glob(f"runs-curve-{d}/tiny-shakespeare/*/results.jsonl")[0]).readline())
    print(f"  {d}: {rec['tokens_per_second']:.0f} tokens/s, {rec['wall_seconds']:.1f} s, test NLL {rec['test_nll']:.4f}")
PY

section "4. tinyarch bench beside PyTorch on $device"
bench() {
    ./tinyarch bench "$@" --device "$device" --steps "$bench_steps" --warmup 3 \
        --pytorch "$python" --pytorch-script pytorch_bench.py
}
step "bench transformer" bench models/study/transformer.model --vocab 65
for batch in 64 256; do
    step "bench gpt batch $batch" bench models/gpt.model --vocab 65 --context 128 --batch "$batch"
done

section "5. the study's main-table transformer on $device: $epochs epochs under its protocol"
cat > study-transformer.ron <<RON
// The transformer row of experiments/study-main.ron, seed 689.
(
    corpus: "tiny-shakespeare",
    split_set: "study",
    models: [(file: "models/study/transformer.model", epochs: $epochs)],
    objectives: [last],
    seeds: [689],
    settings: (batch: 64, train: Study(samples: $samples), eval: FirstWindows($windows), average: batch),
    published: {"transformer": 2.0058},
)
RON
step "main-table transformer" ./tinyarch sweep study-transformer.ron --device "$device" --quiet --out runs-main
"$python" - <<'PY'
import glob, json
for path in glob.glob("runs-main/tiny-shakespeare/*/results.jsonl"):
    r = json.loads(open(path).readline())
    print(f"main-table transformer on {r['device']}: test NLL {r['test_nll']:.4f} (study 2.0058), "
          f"{r['steps']} steps, wall {r['wall_seconds']:.0f} s, {r['tokens_per_second']:.0f} tokens/s")
PY

section "summary"
if [ ${#failures[@]} = 0 ]; then
    echo "every step passed"
else
    printf 'FAILED: %s\n' "${failures[@]}"
    exit 1
fi
