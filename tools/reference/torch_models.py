"""PyTorch versions of the zoo's models, layer by layer, named by tinyarch's parameter paths.

Shared by the fixture generator (`make_fixtures.py`) and the speed benchmark
(`../bench/pytorch_bench.py`). Sizes are module arguments; `V`, `T`, `D` are set by the caller
through `configure`.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# Vocabulary, context and width: set by `configure` before building a model.
V, T, D = 11, 8, 16


def configure(vocab, context, width):
    global V, T, D
    V, T, D = vocab, context, width


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


