#!/usr/bin/env bash
# On the GPU machine, inside the unpacked bundle: the study's transformer for 300 steps on CUDA
# and on the CPU from one seed; loss curves side by side and tokens/s. See README.md.
set -euo pipefail
cd "$(dirname "$0")"
# The CUDA libraries of the machine's PyTorch environment, if the system has none.
torch_libs=$(python3 -c 'import nvidia, os; p = os.path.dirname(nvidia.__path__[0]) + "/nvidia"; print(":".join(os.path.join(p, d, "lib") for d in os.listdir(p)))' 2>/dev/null || true)
export LD_LIBRARY_PATH="${torch_libs}:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,driver_version --format=csv
# 300 steps: one all-positions step of batch 64 costs 2.46e10 exact FLOPs.
for device in cuda cpu; do
    ./tinyarch run models/study/transformer.model --corpus tiny-shakespeare --data data \
        --device "$device" --objective all --budget "${BUDGET:-7.4e12}" --seed 689 --out "runs-$device" \
        | tee "run-$device.log"
done
python3 - <<'PY'
import glob, json
def curve(device):
    path = glob.glob(f"runs-{device}/tiny-shakespeare/*/curve.jsonl")[0]
    return [json.loads(l) for l in open(path)]
gpu, cpu = curve("cuda"), curve("cpu")
worst = 0.0
for g, c in zip(gpu, cpu):
    if g.get("train_loss") is not None and c.get("train_loss") is not None:
        worst = max(worst, abs(g["train_loss"] - c["train_loss"]))
print(f"steps compared: {min(len(gpu), len(cpu))}, largest train-loss difference: {worst:.4g}")
for g, c in list(zip(gpu, cpu))[:: max(1, len(gpu) // 10)]:
    print(f"step {g['step']:>5}  cuda {g['train_loss']:.4f}  cpu {c['train_loss']:.4f}")
for device in ["cuda", "cpu"]:
    rec = json.loads(open(glob.glob(f"runs-{device}/tiny-shakespeare/*/results.jsonl")[0]).readline())
    print(f"{device}: {rec['tokens_per_second']:.0f} tokens/s, test nll {rec['test_nll']:.4f}")
PY
