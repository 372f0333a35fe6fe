"""PyTorch's training-step speed on the same models, for `tinyarch bench --pytorch PYTHON`.

The models are written the way a PyTorch user writes them (the study's post-LN transformer on
nn.MultiheadAttention, nanoGPT's GPT on scaled_dot_product_attention), with dropout and Adam as
in training. Under the `last` objective PyTorch computes every position, as the study's code
does, and reads the last. Prints one JSON object. With `--device cuda` each timed step ends
with a synchronisation, and `device_mib` is the caching allocator's peak reservation.

    venv/bin/python tools/bench/pytorch_bench.py --model transformer --objective all \\
        --vocab 65 --context 128 --batch 64 --steps 10 --threads 2 [--device cuda]
"""

import argparse
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class PostLNBlock(nn.Module):
    """nn.TransformerEncoderLayer's post-LN block with a ReLU feed-forward."""

    def __init__(self, d, heads, ffn, p):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, dropout=p, batch_first=True)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.fc1, self.fc2 = nn.Linear(d, ffn), nn.Linear(ffn, d)
        self.drop = nn.Dropout(p)

    def forward(self, x, mask):
        a, _ = self.attn(x, x, x, attn_mask=mask, need_weights=False)
        x = self.ln1(x + self.drop(a))
        return self.ln2(x + self.drop(self.fc2(self.drop(F.relu(self.fc1(x))))))


def causal_attention(q, k, v, p):
    """PyTorch 2's fused attention; the same arithmetic written out on older versions."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
    t = q.shape[-2]
    scores = (q @ k.transpose(-2, -1)) / q.shape[-1] ** 0.5
    scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return F.dropout(scores.softmax(-1), p) @ v


class GPTBlock(nn.Module):
    """nanoGPT's block: pre-LN, fused qkv, GELU MLP of 4d."""

    def __init__(self, d, heads, p):
        super().__init__()
        self.heads, self.p = heads, p
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.drop = nn.Dropout(p)

    def forward(self, x, mask):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        y = causal_attention(q, k, v, self.p if self.training else 0.0)
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(b, t, d)))
        return x + self.drop(self.out(F.gelu(self.fc(self.ln2(x)))))


class Model(nn.Module):
    def __init__(self, kind, vocab, context, d=128, heads=4, layers=3, ffn=256, p=0.1):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(context, d)
        self.drop = nn.Dropout(p)
        if kind == "gpt":
            self.blocks = nn.ModuleList(GPTBlock(d, heads, p) for _ in range(layers))
        else:
            self.blocks = nn.ModuleList(PostLNBlock(d, heads, ffn, p) for _ in range(layers))
        self.ln_f, self.head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=kind != "gpt")
        if kind == "gpt":
            self.head.weight = self.tok.weight
        self.register_buffer("mask", torch.triu(torch.ones(context, context, dtype=torch.bool), 1))

    def forward(self, ids):
        x = self.drop(self.tok(ids) + self.pos.weight[: ids.shape[1]])
        for block in self.blocks:
            x = block(x, self.mask)
        return self.head(self.ln_f(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["transformer", "gpt"], default="transformer")
    ap.add_argument("--objective", choices=["all", "last"], default="all")
    ap.add_argument("--vocab", type=int, default=65)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    device = torch.device(a.device)
    model = Model(a.model, a.vocab, a.context, layers=a.layers).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    ids = torch.randint(0, a.vocab, (a.batch, a.context), device=device)
    targets = torch.randint(0, a.vocab, (a.batch, a.context), device=device)
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)

    def step():
        logits = model(ids)
        if a.objective == "last":
            loss = F.cross_entropy(logits[:, -1], targets[:, -1])
        else:
            loss = F.cross_entropy(logits.reshape(-1, a.vocab), targets.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sync()

    for _ in range(a.warmup):
        step()
    # The median step, as tinyarch reports it: robust to a passing load on a shared machine.
    times = []
    for _ in range(a.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    seconds = sorted(times)[len(times) // 2]
    # ru_maxrss is in bytes on macOS and in KiB on Linux and the BSDs.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mib = rss / 2**20 if sys.platform == "darwin" else rss / 1024
    print(json.dumps({
        "framework": f"pytorch {torch.__version__}",
        "step_ms": 1e3 * seconds,
        "tokens_per_s": a.batch * a.context / seconds,
        "peak_rss_mib": rss_mib,
        "device_mib": torch.cuda.max_memory_reserved() / 2**20 if a.device == "cuda" else None,
        "params": sum(p.numel() for p in model.parameters()),
    }))


if __name__ == "__main__":
    main()
