"""Reference fixtures for tinyarch's numerics, computed by PyTorch.

For each kind of model in the zoo, small sizes, fixed random weights and a fixed batch:
logits, loss and the gradient of every parameter, under each objective the model allows.
Models mirror the `.model` files layer by layer (names are tinyarch's parameter paths), in
float64 so that the fixture is the exact answer and tinyarch's float32 is judged against it.

    python -m venv venv && venv/bin/pip install torch safetensors
    venv/bin/python tools/reference/make_fixtures.py      # writes tests/fixtures/reference/

Only this script and its small outputs are committed, never PyTorch.
"""

import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

torch.set_default_dtype(torch.float64)

# Small sizes shared by every fixture: V vocab, T context, D width, H heads, B batch.
V, T, D, H, FFN, HIDDEN, LAYERS, B = 11, 8, 16, 2, 32, 24, 2, 3
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "reference")


def rope(x, base=10000.0):
    """Rotate-half RoPE on [B, H, T, Dh]."""
    dh, t = x.shape[-1], x.shape[-2]
    inv_freq = 1.0 / (base ** (torch.arange(0, dh, 2, dtype=torch.float64) / dh))
    angles = torch.outer(torch.arange(t, dtype=torch.float64), inv_freq)  # [T, Dh/2]
    cos = torch.cat([angles.cos(), angles.cos()], dim=-1)
    sin = torch.cat([angles.sin(), angles.sin()], dim=-1)
    x1, x2 = x[..., : dh // 2], x[..., dh // 2 :]
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


def causal_attention(q, k, v, heads):
    """[B, T, D] q, k, v -> [B, T, D], causal, scaled by 1/sqrt(Dh)."""
    b, t, d = q.shape
    split = lambda x: x.view(b, t, heads, d // heads).transpose(1, 2)  # [B, H, T, Dh]
    return split(q), split(k), split(v)


def attend(q, k, v):
    b, h, t, dh = q.shape
    scores = q @ k.transpose(-1, -2) / math.sqrt(dh)  # [B, H, T, T]
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    probs = scores.masked_fill(mask, float("-inf")).softmax(-1)
    return (probs @ v).transpose(1, 2).reshape(b, t, h * dh)  # [B, T, D]


class FusedAttention(nn.Module):
    """nn.MultiheadAttention's parameters and semantics: `qkv` rows are q, k, v."""

    def __init__(self, d, heads, use_rope=False):
        super().__init__()
        self.heads, self.use_rope = heads, use_rope
        mha = nn.MultiheadAttention(d, heads, bias=True, batch_first=True)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        with torch.no_grad():
            self.qkv.weight.copy_(mha.in_proj_weight)
            self.qkv.bias.copy_(mha.in_proj_bias)
            self.out.weight.copy_(mha.out_proj.weight)
            self.out.bias.copy_(mha.out_proj.bias)
            # Zero-initialised biases would hide bias bugs from the gradient comparison.
            self.qkv.bias.normal_(0, 0.1)
            self.out.bias.normal_(0, 0.1)
        self.mha = mha  # kept only to cross-check against PyTorch's own module below

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = causal_attention(q, k, v, self.heads)
        if self.use_rope:
            q, k = rope(q), rope(k)
        return self.out(attend(q, k, v))


class SeparateAttention(nn.Module):
    def __init__(self, d, heads, use_rope):
        super().__init__()
        self.heads, self.use_rope = heads, use_rope
        self.q, self.k, self.v, self.out = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x):
        q, k, v = causal_attention(self.q(x), self.k(x), self.v(x), self.heads)
        if self.use_rope:
            q, k = rope(q), rope(k)
        return self.out(attend(q, k, v))


class FeedForward(nn.Module):
    def __init__(self, d, hidden, act):
        super().__init__()
        self.fc1, self.fc2, self.act = nn.Linear(d, hidden), nn.Linear(hidden, d), act

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class PostLN(nn.Module):
    """transformer.model's `post_ln` block (dropout off)."""

    def __init__(self, d, heads, ffn):
        super().__init__()
        self.attn = FusedAttention(d, heads)
        self.ln1 = nn.LayerNorm(d)
        self.mlp = FeedForward(d, ffn, F.relu)
        self.ln2 = nn.LayerNorm(d)

    def forward(self, x):
        x = self.ln1(x + self.attn(x))
        return self.ln2(x + self.mlp(x))


class PreLN(nn.Module):
    def __init__(self, d, heads, ffn, attention, act):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(d), attention
        self.ln2, self.mlp = nn.LayerNorm(d), FeedForward(d, ffn, act)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class Sequence(nn.Module):
    """embedding, [position_embedding], blocks, ln_f, head: the attention models' spine."""

    def __init__(self, blocks, block_prefix, positions=True, tied=False):
        super().__init__()
        self.embedding = nn.Embedding(V, D)
        self.position_embedding = nn.Embedding(T, D) if positions else None
        self.blocks, self.block_prefix = nn.ModuleList(blocks), block_prefix
        self.ln_f = nn.LayerNorm(D)
        self.head = nn.Linear(D, V, bias=not tied)
        if tied:
            self.head.weight = self.embedding.weight
        self.tied = tied

    def forward(self, ids):
        x = self.embedding(ids)
        if self.position_embedding is not None:
            x = x + self.position_embedding.weight
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))  # [B, T, V]

    def named(self):
        out = {}
        for name, p in self.named_parameters():
            if name.startswith("blocks."):
                # `blocks.<i>.` becomes the model file's path: `blocks.<i>.`, or a label such
                # as `encoder.` for a single block.
                index, rest = name[len("blocks.") :].split(".", 1)
                name = self.block_prefix.format(index) + rest
            out[name] = p
        return out


class Flat(nn.Module):
    """linear.model and mlp.model: embedding, flatten, [fc1, relu, fc2, relu], head."""

    def __init__(self, hidden=None):
        super().__init__()
        self.embedding = nn.Embedding(V, D)
        self.fc1 = nn.Linear(T * D, hidden) if hidden else None
        self.fc2 = nn.Linear(hidden, hidden) if hidden else None
        self.head = nn.Linear(hidden or T * D, V)

    def forward(self, ids):
        x = self.embedding(ids).flatten(1)  # [B, T*D]
        if self.fc1 is not None:
            x = F.relu(self.fc2(F.relu(self.fc1(x))))
        return self.head(x)  # [B, V]

    def named(self):
        return dict(self.named_parameters())


def randomise_norms(model):
    """LayerNorm starts at 1 / 0; random values make its gradient test meaningful."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.normal_(1.0, 0.2)
                m.bias.normal_(0.0, 0.2)


def write(name, model_file, sets, model, objective):
    randomise_norms(model)
    ids = torch.randint(0, V, (B, T))
    logits = model(ids)
    if logits.dim() == 2:  # [B, V]: the target is the token after the window
        targets = torch.randint(0, V, (B,))
        loss = F.cross_entropy(logits, targets)
    elif objective == "last":
        targets = torch.randint(0, V, (B,))
        logits = logits[:, -1]
        loss = F.cross_entropy(logits, targets)
    else:
        targets = torch.randint(0, V, (B, T))
        loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
    loss.backward()
    tensors = {"input.ids": ids.to(torch.int64), "input.targets": targets.to(torch.int64)}
    tensors["out.logits"] = logits.detach().contiguous()
    tensors["out.loss"] = loss.detach().reshape(1)
    for pname, p in model.named().items():
        if name.startswith("gpt") and pname == "head.weight":
            continue  # tied: the embedding carries it
        tensors[f"param.{pname}"] = p.detach().contiguous()
        tensors[f"grad.{pname}"] = p.grad.detach().contiguous()
    meta = {
        "model": model_file,
        "set": ",".join(sets),
        "vocab": str(V),
        "objective": objective,
        "batch": str(B),
    }
    save_file(tensors, os.path.join(OUT, f"{name}.safetensors"), metadata=meta)
    print(f"{name}: loss {loss.item():.6f}, {len(tensors)} tensors")


def check_fused_attention_matches_pytorch():
    """Our FusedAttention is nn.MultiheadAttention with a causal mask (dropout off)."""
    a = FusedAttention(D, H)
    with torch.no_grad():
        a.mha.in_proj_bias.copy_(a.qkv.bias)
        a.mha.out_proj.bias.copy_(a.out.bias)
    x = torch.randn(B, T, D)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    ref, _ = a.mha(x, x, x, attn_mask=mask, need_weights=False)
    assert torch.allclose(a(x), ref, atol=1e-12), "FusedAttention differs from nn.MultiheadAttention"


def main():
    os.makedirs(OUT, exist_ok=True)
    check_fused_attention_matches_pytorch()
    common = [f"context={T}", f"d={D}"]
    no_drop = ["p=0.0"]

    def strip_mha(model):
        for m in model.modules():
            if isinstance(m, FusedAttention):
                del m.mha
        return model

    torch.manual_seed(689)
    write("linear", "models/study/linear.model", common, Flat(), "last")
    torch.manual_seed(690)
    write("mlp", "models/study/mlp.model", common + [f"hidden={HIDDEN}"] + no_drop, Flat(HIDDEN), "last")
    for objective in ["all", "last"]:
        torch.manual_seed(691)
        m = strip_mha(Sequence([PostLN(D, H, FFN * 2)], "encoder."))
        write(f"self_attention_{objective}", "models/study/self_attention.model",
              common + [f"heads={H}", f"ffn={FFN * 2}"] + no_drop, m, objective)
        torch.manual_seed(692)
        m = strip_mha(Sequence([PostLN(D, H, FFN) for _ in range(LAYERS)], "blocks.{}."))
        write(f"transformer_{objective}", "models/study/transformer.model",
              common + [f"heads={H}", f"ffn={FFN}", f"layers={LAYERS}"] + no_drop, m, objective)
        for use_rope in [True, False]:
            torch.manual_seed(693)
            blocks = [PreLN(D, H, FFN, SeparateAttention(D, H, use_rope), F.relu) for _ in range(LAYERS)]
            m = Sequence(blocks, "blocks.{}.", positions=not use_rope)
            tag = "rope" if use_rope else "learned"
            write(f"rope_transformer_{tag}_{objective}", "models/study/rope_transformer.model",
                  common + [f"heads={H}", f"ffn={FFN}", f"layers={LAYERS}", f"rope={str(use_rope).lower()}"]
                  + no_drop, m, objective)
        torch.manual_seed(694)
        blocks = [PreLN(D, H, 4 * D, FusedAttention(D, H), F.gelu) for _ in range(LAYERS)]
        m = strip_mha(Sequence(blocks, "blocks.{}.", tied=True))
        write(f"gpt_{objective}", "models/gpt.model", common + [f"heads={H}", f"layers={LAYERS}"] + no_drop, m, objective)


if __name__ == "__main__":
    main()
