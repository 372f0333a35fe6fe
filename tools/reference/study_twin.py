"""An independent PyTorch twin of the study's main table on Tiny Shakespeare (characters).

The study "Architectural Trade-offs in Small Language Models Under Compute Constraints" (arXiv
2512.20877) trains four models, one after another, under one protocol; `experiments/study-main.ron`
is tinyarch's version of it. This script trains the same four models under the same protocol
with nothing but PyTorch, so that tinyarch's per-epoch losses and test NLL can be set beside
those of an implementation that shares none of its code, seed by seed, to see whether tinyarch
is biased. It imports nothing from tinyarch and reads only the corpus file.

The protocol, as the study's notebook has it:

- characters of `tiny-shakespeare/input.txt`, the study's 80/10/10 split (byte ranges train
  [0, 892117), valid [892118, 1003787), test [1003788, 1115394); the `\\n` at each boundary
  belongs to no split), vocabulary the 65 distinct characters, ids in byte order;
- a window is `context` = 128 characters and its target the character after it (the last-token
  objective);
- each epoch draws 50,000 window starts uniformly at random in the training split, batch 64
  (781 full batches and one of 16), Adam at 3e-4, betas (0.9, 0.999), no weight decay, no
  clipping; the epoch's train loss is the mean of its per-batch losses (dropout on);
- after each epoch, validation on the first 10,000 windows of the validation split (starts
  0..9999 in order, batch 64, dropout off), the mean of per-batch mean losses; the weights of the
  best validation epoch (strictly lower) are restored and scored on the first 10,000 windows of
  the test split in the same way;
- epochs: linear 3, mlp 3, self_attention 4, transformer 4; width 128, dropout 0.1 except in
  the linear model; PyTorch's default initialisation of every layer, `torch.manual_seed(seed)`
  before the model is built.

Training windows come from a `torch.Generator` of their own, seeded with `--seed`; dropout and
initialisation use the global generator, seeded with the same `--seed`. The study drew both from
one global stream (and its dropout on a GPU), so no seed reproduces its exact numbers: compare
spreads over seeds, not single runs.

Install and run (PyTorch's CPU wheel is enough; the models are small; any PyTorch from 1.12 on
runs it):

    python -m venv venv && venv/bin/pip install torch
    venv/bin/python tools/reference/study_twin.py --model transformer --seed 689 \\
        --data ../shared/corpora --out /tmp/twin/transformer-689.jsonl

Output: one JSON line per epoch (`model`, `seed`, `epoch`, `train_loss`, `valid_loss`,
`seconds`, and `train_seconds`, `batches`), then one final line (`model`, `seed`, `params`,
`best_epoch`, `test_nll`, `valid_nll`, `wall_seconds`, `torch_version`, `threads`, and the
`epochs`, `samples`, `eval_windows` it ran with). Progress goes to stderr.

Only this script is committed, never PyTorch or a virtual environment.
"""

import argparse
import copy
import hashlib
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# The study's split of tiny-shakespeare/input.txt: [start, end) byte ranges and their md5.
SPLITS = {
    "train": (0, 892117, "def49bce5e5cfa77db4af90cfe88ff40"),
    "valid": (892118, 1003787, "1518e307eb81a6aa8481b26d0bf688a6"),
    "test": (1003788, 1115394, "dea58de6ba2282b564865df82d9f17f7"),
}
VOCAB = 65
CONTEXT = 128  # every model file of the main table: context = 128
D = 128  # width of every model
BATCH = 64
LR = 3e-4

# Per model: epochs of the main table and the parameter count tinyarch's checker gives.
MODELS = {
    "linear": (3, 1_073_345),
    "mlp": (3, 4_285_377),
    "self_attention": (4, 231_617),
    "transformer": (4, 430_785),
}


# ---------------------------------------------------------------------------------------------
# Models. Each maps ids [B, CONTEXT] to the logits of the token after the window, [B, VOCAB].


class Linear(nn.Module):
    """models/study/linear.model: embed, concatenate the window, one linear map. No dropout."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D)
        self.head = nn.Linear(CONTEXT * D, VOCAB)

    def forward(self, ids):
        return self.head(self.embedding(ids).flatten(1))


class MLP(nn.Module):
    """models/study/mlp.model with hidden = 256: two ReLU layers, dropout after each."""

    def __init__(self, hidden=256, p=0.1):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D)
        self.net = nn.Sequential(
            nn.Linear(CONTEXT * D, hidden),
            nn.ReLU(),
            nn.Dropout(p),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(p),
            nn.Linear(hidden, VOCAB),
        )

    def forward(self, ids):
        return self.net(self.embedding(ids).flatten(1))


class PostLN(nn.Module):
    """transformer.model's `post_ln` block:

        x = LN1(x + MultiheadAttention(x))        dropout on the attention weights only
        x = LN2(x + Dropout(W2 relu(W1 x + b1) + b2))

    Causal attention (query i sees keys 0..i). With `last_only`, only the last position is
    computed: its query attends to every key, so no mask is needed and the result at that
    position is the same as the full block's (checked by `check_last_only`).
    """

    def __init__(self, heads, ffn, p):
        super().__init__()
        self.attn = nn.MultiheadAttention(D, heads, dropout=p, batch_first=True)
        self.ln1 = nn.LayerNorm(D)
        self.ffn = nn.Sequential(nn.Linear(D, ffn), nn.ReLU(), nn.Linear(ffn, D))
        self.drop = nn.Dropout(p)
        self.ln2 = nn.LayerNorm(D)

    def forward(self, x, last_only=False):
        if last_only:
            q, mask = x[:, -1:], None
        else:
            t = x.shape[1]
            q, mask = x, torch.triu(torch.ones(t, t, dtype=torch.bool, device=x.device), diagonal=1)
        a, _ = self.attn(q, x, x, attn_mask=mask, need_weights=False)
        h = self.ln1(q + a)
        return self.ln2(h + self.drop(self.ffn(h)))


class Attention(nn.Module):
    """self_attention.model (1 block, ffn 512) and transformer.model (3 blocks, ffn 256):
    token embedding + learned positions (no dropout on them), post-LN blocks, a final layer norm
    and an untied head, read at the last position."""

    def __init__(self, layers, heads=4, ffn=256, p=0.1):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D)
        self.position_embedding = nn.Embedding(CONTEXT, D)
        self.blocks = nn.ModuleList([PostLN(heads, ffn, p) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(D)
        self.head = nn.Linear(D, VOCAB)
        self.last_only = True  # compute only what the loss reads (see PostLN)

    def forward(self, ids):
        x = self.embedding(ids) + self.position_embedding.weight[: ids.shape[1]]
        for i, block in enumerate(self.blocks):
            x = block(x, last_only=self.last_only and i == len(self.blocks) - 1)
        return self.head(self.ln_f(x[:, -1]))


def build(name):
    if name == "linear":
        return Linear()
    if name == "mlp":
        return MLP(hidden=256)
    if name == "self_attention":
        return Attention(layers=1, ffn=512)
    if name == "transformer":
        return Attention(layers=3, ffn=256)
    raise ValueError(name)


def check_last_only(model, tokens):
    """The last-position shortcut gives the full forward's logits (dropout off)."""
    if not isinstance(model, Attention):
        return
    ids = windows(tokens, torch.arange(3))
    model.eval()
    with torch.no_grad():
        fast = model(ids)
        model.last_only = False
        full = model(ids)
        model.last_only = True
    model.train()
    assert torch.allclose(fast, full, rtol=1e-4, atol=1e-5), (fast - full).abs().max()


# ---------------------------------------------------------------------------------------------
# Data.


def find_corpus(data):
    """`<data>/tiny-shakespeare/input.txt`; a relative `data` is tried from the working
    directory, then from the repository root (two folders above this script)."""
    candidates = [data]
    if not os.path.isabs(data):
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
        candidates.append(os.path.join(root, data))
    for d in candidates:
        path = os.path.join(d, "tiny-shakespeare", "input.txt")
        if os.path.isfile(path):
            return path
    sys.exit(f"error: no tiny-shakespeare/input.txt under {' or '.join(candidates)}; pass --data DIR")


def load_splits(path):
    raw = open(path, "rb").read()
    chars = sorted(set(raw))
    assert len(chars) == VOCAB, f"{len(chars)} distinct characters, expected {VOCAB}"
    lookup = torch.zeros(256, dtype=torch.long)
    lookup[torch.tensor(chars)] = torch.arange(VOCAB)
    splits = {}
    for name, (start, end, md5) in SPLITS.items():
        piece = raw[start:end]
        got = hashlib.md5(piece).hexdigest()
        assert got == md5, f"{name} split md5 {got}, expected {md5}: not the study's input.txt"
        splits[name] = lookup[torch.frombuffer(bytearray(piece), dtype=torch.uint8).long()]
    return splits


def windows(tokens, starts):
    """ids [len(starts), CONTEXT]: tokens[s : s + CONTEXT] for each start s."""
    return tokens[starts[:, None] + torch.arange(CONTEXT)[None, :]]


def targets(tokens, starts):
    return tokens[starts + CONTEXT]


def train_starts(tokens, samples, generator):
    """`samples` starts drawn uniformly with replacement, as the study's CharDataset draws them:
    torch.randint(0, max_start) with max_start = len - context - 1."""
    max_start = len(tokens) - CONTEXT - 1
    return torch.randint(0, max_start, (samples,), generator=generator)


# ---------------------------------------------------------------------------------------------
# Training and evaluation.


@torch.no_grad()
def evaluate(model, tokens, n_windows):
    """Mean over batches of each batch's mean NLL, on windows starting at 0, 1, ..., n - 1."""
    model.eval()
    n = min(n_windows, len(tokens) - CONTEXT - 1)
    starts = torch.arange(n)
    total, batches = 0.0, 0
    for i in range(0, n, BATCH):
        s = starts[i : i + BATCH]
        total += F.cross_entropy(model(windows(tokens, s)), targets(tokens, s)).item()
        batches += 1
    model.train()
    return total / batches


def train_epoch(model, optimizer, tokens, starts, epoch, log_every):
    model.train()
    losses = []
    n_batches = math.ceil(len(starts) / BATCH)
    t0 = last = time.time()
    last_b = 0
    for b, i in enumerate(range(0, len(starts), BATCH), start=1):
        s = starts[i : i + BATCH]
        loss = F.cross_entropy(model(windows(tokens, s)), targets(tokens, s))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            sys.exit(f"error: loss {losses[-1]} at epoch {epoch}, batch {b}")
        if log_every and (b % log_every == 0 or b == n_batches):
            now = time.time()
            rate = (now - last) / (b - last_b) * 100
            print(
                f"  epoch {epoch} batch {b}/{n_batches} loss {losses[-1]:.4f} "
                f"mean {sum(losses) / len(losses):.4f} ({rate:.1f} s per 100 batches)",
                file=sys.stderr,
                flush=True,
            )
            last, last_b = now, b
    return sum(losses) / len(losses), time.time() - t0, len(losses)


def main():
    default_data = os.environ.get("TINYARCH_DATA") or "../shared/corpora"
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, choices=sorted(MODELS))
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--data", default=default_data, help=f"corpus folder (default: {default_data})")
    ap.add_argument("--epochs", type=int, help="default: the main table's (linear 3, mlp 3, attention 4)")
    ap.add_argument("--samples", type=int, default=50_000, help="training windows per epoch")
    ap.add_argument("--eval-windows", type=int, default=10_000, help="first windows of valid and test")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=100, help="batches between progress lines (0: none)")
    ap.add_argument("--out", required=True, help="JSON lines file (overwritten)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    epochs = a.epochs or MODELS[a.model][0]
    started = time.time()
    splits = load_splits(find_corpus(a.data))

    torch.manual_seed(a.seed)
    model = build(a.model)
    params = sum(p.numel() for p in model.parameters())
    print(f"{a.model}: {params:,} parameters, seed {a.seed}, {epochs} epochs of {a.samples} windows, "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)", file=sys.stderr, flush=True)
    assert params == MODELS[a.model][1], f"{params} parameters, tinyarch counts {MODELS[a.model][1]}"
    # The check draws nothing from any generator (dropout off), so the run's streams are as if
    # it had not run.
    check_last_only(model, splits["train"])

    optimizer = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    data_generator = torch.Generator().manual_seed(a.seed)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    best = (math.inf, 0, None)  # (valid loss, epoch, weights)
    with open(a.out, "w") as out:
        for epoch in range(1, epochs + 1):
            t0 = time.time()
            starts = train_starts(splits["train"], a.samples, data_generator)
            train_loss, train_seconds, batches = train_epoch(model, optimizer, splits["train"], starts, epoch, a.log_every)
            valid_loss = evaluate(model, splits["valid"], a.eval_windows)
            if valid_loss < best[0]:
                best = (valid_loss, epoch, copy.deepcopy(model.state_dict()))
            row = {
                "model": a.model,
                "seed": a.seed,
                "epoch": epoch,
                "train_loss": train_loss,
                "valid_loss": valid_loss,
                "seconds": time.time() - t0,
                "train_seconds": train_seconds,
                "batches": batches,
            }
            out.write(json.dumps(row) + "\n")
            out.flush()
            print(f"epoch {epoch}: train {train_loss:.4f} valid {valid_loss:.4f} ({row['seconds']:.1f} s)",
                  file=sys.stderr, flush=True)

        model.load_state_dict(best[2])
        test_nll = evaluate(model, splits["test"], a.eval_windows)
        final = {
            "model": a.model,
            "seed": a.seed,
            "params": params,
            "best_epoch": best[1],
            "test_nll": test_nll,
            "valid_nll": best[0],
            "wall_seconds": time.time() - started,
            "torch_version": torch.__version__,
            "threads": torch.get_num_threads(),
            "epochs": epochs,
            "samples": a.samples,
            "eval_windows": a.eval_windows,
        }
        out.write(json.dumps(final) + "\n")
    print(f"best epoch {best[1]}: valid {best[0]:.4f}, test {test_nll:.4f}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
