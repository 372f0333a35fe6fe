"""Reference fixtures for tinyarch's numerics, computed by PyTorch.

For each kind of model in the zoo, small sizes, fixed random weights and a fixed batch:
logits, loss and the gradient of every parameter, under each objective the model allows.
Models mirror the `.model` files layer by layer (names are tinyarch's parameter paths), in
float64 so that the fixture is the exact answer and tinyarch's float32 is judged against it.

    python -m venv venv && venv/bin/pip install torch safetensors
    venv/bin/python tools/reference/make_fixtures.py      # writes tests/fixtures/reference/

Only this script and its small outputs are committed, never PyTorch.
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
import torch_models  # noqa: E402
from torch_models import FusedAttention, PostLN, PreLN, SeparateAttention, Sequence, Flat  # noqa: E402

torch.set_default_dtype(torch.float64)

# Small sizes shared by every fixture: V vocab, T context, D width, H heads, B batch.
V, T, D, H, FFN, HIDDEN, LAYERS, B = 11, 8, 16, 2, 32, 24, 2, 3
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "reference")


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
    torch_models.configure(V, T, D)
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
