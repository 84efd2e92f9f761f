"""Independent PyTorch reference for tests/golden/golden_training_test.cpp.

Defines the GPT-2 and Llama decoders in plain PyTorch (nothing from the engine), loads the
engine's initial weights (safetensors, the engine's parameter names), trains on the engine's
batches for the same number of steps with torch.optim.AdamW (decay on matrices only),
torch.nn.utils.clip_grad_norm_ and the learning-rate schedule written from its definition, and
compares losses, learning rates, gradient norms and final weights with the engine's.

Writes DIR/result.json and prints a summary; exits 0 when every difference is within --tolerance,
1 when one is not, 2 on bad input.

    golden_train.py --dir DIR [--tolerance 1e-5]

DIR holds setup.json (model and train settings), init.safetensors, batches.safetensors (inputs,
targets: (steps, batch, context) int64), engine_curves.safetensors (loss, lr, grad_norm per step)
and final.safetensors (the engine's weights after the last step).
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file


# ---- models -------------------------------------------------------------------------------------


# Elementary ops are PyTorch's fused ones. Written out instead (softmax(q k^T / sqrt(hd) + mask) v,
# 0.5 x (1 + tanh(...))), the losses still agree to 2e-7, but the weights only to 6e-5: rounding
# differences of 1e-7 in the gradients flip the first AdamW update (lr * g / |g|) of the odd weight
# whose first gradient is below eps = 1e-8, which no tolerance on the computation itself can hide.


def gelu_tanh(x):
    # GPT-2's GELU ("gelu_new"): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    return F.gelu(x, approximate="tanh")


def causal_attention(q, k, v):
    # q, k, v: (B, H, T, hd) -> softmax(q k^T / sqrt(hd) + causal mask) v.
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def split_heads(x, heads):
    b, t, c = x.shape
    return x.view(b, t, heads, c // heads).transpose(1, 2)


def merge_heads(y):
    b, h, t, hd = y.shape
    return y.transpose(1, 2).reshape(b, t, h * hd)


class Gpt2Attention(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(c, 3 * c)  # column blocks q | k | v
        self.out = nn.Linear(c, c)

    def forward(self, x):
        q, k, v = self.qkv(x).split(x.size(-1), dim=-1)
        y = causal_attention(*(split_heads(t, self.heads) for t in (q, k, v)))
        return self.out(merge_heads(y))


class Gpt2Mlp(nn.Module):
    def __init__(self, c, d_ff):
        super().__init__()
        self.fc1 = nn.Linear(c, d_ff)
        self.fc2 = nn.Linear(d_ff, c)

    def forward(self, x):
        return self.fc2(gelu_tanh(self.fc1(x)))


class Gpt2Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["d_model"]
        self.ln1 = nn.LayerNorm(c, eps=cfg["norm_eps"])
        self.attn = Gpt2Attention(c, cfg["heads"])
        self.ln2 = nn.LayerNorm(c, eps=cfg["norm_eps"])
        self.mlp = Gpt2Mlp(c, cfg["d_ff"])

    def forward(self, x):  # pre-LN residual block
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class Gpt2(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, vocab = cfg["d_model"], cfg["vocab_size"]
        self.tok_emb = nn.Embedding(vocab, c)
        self.pos_emb = nn.Embedding(cfg["context"], c)
        self.blocks = nn.ModuleList(Gpt2Block(cfg) for _ in range(cfg["layers"]))
        self.ln_f = nn.LayerNorm(c, eps=cfg["norm_eps"])
        self.lm_head = nn.Linear(c, vocab, bias=False)
        if cfg["tie_embeddings"]:
            self.lm_head.weight = self.tok_emb.weight

    def forward(self, ids):
        h = self.tok_emb(ids) + self.pos_emb(torch.arange(ids.size(1)))
        for block in self.blocks:
            h = block(h)
        return self.lm_head(self.ln_f(h))


class RmsNorm(nn.Module):
    def __init__(self, c, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(c))

    def forward(self, x):  # x / sqrt(mean(x^2) + eps) * weight
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, theta):
    # Rotary embedding with the rotate-half pairing (lane i with lane i + hd/2), x: (B, H, T, hd).
    t, hd = x.size(-2), x.size(-1)
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    angles = torch.outer(torch.arange(t, dtype=torch.float32), inv_freq)
    angles = torch.cat([angles, angles], dim=-1)  # (T, hd)
    x1, x2 = x[..., : hd // 2], x[..., hd // 2 :]
    return x * angles.cos() + torch.cat([-x2, x1], dim=-1) * angles.sin()


class LlamaAttention(nn.Module):
    def __init__(self, c, heads, theta):
        super().__init__()
        self.heads, self.theta = heads, theta
        self.q = nn.Linear(c, c, bias=False)
        self.k = nn.Linear(c, c, bias=False)
        self.v = nn.Linear(c, c, bias=False)
        self.o = nn.Linear(c, c, bias=False)

    def forward(self, x):
        q = rope(split_heads(self.q(x), self.heads), self.theta)
        k = rope(split_heads(self.k(x), self.heads), self.theta)
        y = causal_attention(q, k, split_heads(self.v(x), self.heads))
        return self.o(merge_heads(y))


class LlamaMlp(nn.Module):  # SwiGLU
    def __init__(self, c, d_ff):
        super().__init__()
        self.gate = nn.Linear(c, d_ff, bias=False)
        self.up = nn.Linear(c, d_ff, bias=False)
        self.down = nn.Linear(d_ff, c, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class LlamaBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["d_model"]
        self.norm1 = RmsNorm(c, cfg["norm_eps"])
        self.attn = LlamaAttention(c, cfg["heads"], cfg["rope_theta"])
        self.norm2 = RmsNorm(c, cfg["norm_eps"])
        self.mlp = LlamaMlp(c, cfg["d_ff"])

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c, vocab = cfg["d_model"], cfg["vocab_size"]
        self.tok_emb = nn.Embedding(vocab, c)
        self.blocks = nn.ModuleList(LlamaBlock(cfg) for _ in range(cfg["layers"]))
        self.norm_f = RmsNorm(c, cfg["norm_eps"])
        self.lm_head = nn.Linear(c, vocab, bias=False)
        if cfg["tie_embeddings"]:
            self.lm_head.weight = self.tok_emb.weight

    def forward(self, ids):
        h = self.tok_emb(ids)
        for block in self.blocks:
            h = block(h)
        return self.lm_head(self.norm_f(h))


# ---- training -----------------------------------------------------------------------------------


def learning_rate(step, s):
    """The schedule's definition (nanoGPT's shape); step is the 0-based index of the update.

    Linear warm-up lr * (step + 1) / (warmup + 1), then from lr down to min_lr reached at the last
    step (steps - 1): cosine 0.5 (1 + cos(pi p)), linear 1 - p, or constant lr.
    """
    lr, min_lr, warmup, steps = s["lr"], s["min_lr"], s["warmup_steps"], s["steps"]
    if step < warmup:
        return lr * (step + 1) / (warmup + 1)
    if s["schedule"] == "constant":
        return lr
    progress = min(max((step - warmup) / max(1, steps - 1 - warmup), 0.0), 1.0)
    if s["schedule"] == "cosine":
        decay = 0.5 * (1.0 + math.cos(math.pi * progress))
    else:
        decay = 1.0 - progress
    return min_lr + decay * (lr - min_lr)


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()
    start = time.monotonic()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    with open(os.path.join(args.dir, "setup.json")) as f:
        setup = json.load(f)
    cfg, s = setup["model"], setup["train"]
    if cfg["dropout"] != 0.0:
        print("the golden test trains without dropout", file=sys.stderr)
        return 2
    model = {"gpt2": Gpt2, "llama": Llama}[cfg["family"]](cfg)
    model.train()

    # The engine's initial weights, by name: exactly our parameters (a tied head is one tensor).
    init = load_file(os.path.join(args.dir, "init.safetensors"))
    params = dict(model.named_parameters())
    if set(init) != set(params):
        print(f"parameter names differ: engine only {sorted(set(init) - set(params))}, "
              f"here only {sorted(set(params) - set(init))}", file=sys.stderr)
        return 2
    with torch.no_grad():
        for name, p in params.items():
            if init[name].shape != p.shape:
                print(f"{name}: shape {tuple(init[name].shape)} vs {tuple(p.shape)}",
                      file=sys.stderr)
                return 2
            p.copy_(init[name])

    batches = load_file(os.path.join(args.dir, "batches.safetensors"))
    inputs, targets = batches["inputs"], batches["targets"]
    steps = s["steps"]
    assert inputs.size(0) == steps, "one batch per step"

    # AdamW with decoupled weight decay on matrices (dim >= 2) only.
    beta1, beta2 = s["betas"]
    groups = [
        {"params": [p for p in params.values() if p.dim() >= 2], "weight_decay": s["weight_decay"]},
        {"params": [p for p in params.values() if p.dim() < 2], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=s["lr"], betas=(beta1, beta2), eps=s["eps"],
                                  foreach=False)

    # GPT-2's key bias adds q·b_k to every score of a query, which the softmax cancels: its
    # gradient is exactly 0 in exact arithmetic, so in both implementations it holds rounding
    # noise only, and AdamW turns that noise into updates of ~lr * noise / eps. Its trained value
    # is therefore not determined by the computation; it is checked to stay at the noise level
    # (and its gradient to be noise) instead of being compared.
    key_bias_grad_ratio = 0.0
    c = cfg["d_model"]

    losses, lrs, grad_norms = [], [], []
    for step in range(steps):
        lr = learning_rate(step, s)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        logits = model(inputs[step])
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets[step].reshape(-1))
        loss.backward()
        for name, p in params.items():
            if name.endswith("attn.qkv.bias"):
                key_bias_grad_ratio = max(key_bias_grad_ratio,
                                          (p.grad[c:2 * c].abs().max() / p.grad.abs().max()).item())
        grad_norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(),
                                                                s["grad_clip"])))
        optimizer.step()
        losses.append(loss.item())
        lrs.append(lr)

    engine = load_file(os.path.join(args.dir, "engine_curves.safetensors"))
    final = load_file(os.path.join(args.dir, "final.safetensors"))
    result = {
        "family": cfg["family"],
        "steps": steps,
        "tensors": len(params),
        "max_rel_loss": max(rel(e, r) for e, r in zip(engine["loss"].tolist(), losses)),
        "max_rel_lr": max(rel(e, r) for e, r in zip(engine["lr"].tolist(), lrs)),
        "max_rel_grad_norm": max(rel(e, r)
                                 for e, r in zip(engine["grad_norm"].tolist(), grad_norms)),
        "steps_clipped": sum(1 for n in grad_norms if n > s["grad_clip"]),
        "first_loss": losses[0],
        "last_loss": losses[-1],
    }
    # Weights: per tensor, the largest difference relative to the tensor's largest magnitude
    # (GPT-2's key bias apart, see above: its size relative to the q and v biases instead).
    worst, worst_name, key_bias_rel = 0.0, "", 0.0
    for name, p in params.items():
        if name not in final:
            print(f"the engine's final weights lack {name}", file=sys.stderr)
            return 2
        ours = p.detach().double()
        theirs = final[name].double()
        if name.endswith("attn.qkv.bias"):
            scale = ours.abs().max().item()
            key_bias_rel = max(key_bias_rel, ours[c:2 * c].abs().max().item() / scale,
                               theirs[c:2 * c].abs().max().item() / scale)
            ours, theirs = torch.cat([ours[:c], ours[2 * c:]]), torch.cat([theirs[:c], theirs[2 * c:]])
            name += " (q and v)"
        d = ((theirs - ours).abs().max() / ours.abs().max().clamp_min(1e-30)).item()
        if d > worst:
            worst, worst_name = d, name
    result["max_rel_weight"] = worst
    result["worst_tensor"] = worst_name
    result["key_bias_grad_ratio"] = key_bias_grad_ratio
    result["key_bias_rel"] = key_bias_rel
    result["seconds"] = time.monotonic() - start
    with open(os.path.join(args.dir, "result.json"), "w") as f:
        json.dump(result, f, indent=2)

    print(f"golden {cfg['family']}: {steps} steps, loss {losses[0]:.4f} -> {losses[-1]:.4f}, "
          f"clipped {result['steps_clipped']}/{steps}; max relative difference: loss "
          f"{result['max_rel_loss']:.3g}, weights {worst:.3g} ({worst_name}), lr "
          f"{result['max_rel_lr']:.3g}, grad norm {result['max_rel_grad_norm']:.3g}; key bias "
          f"{key_bias_rel:.3g} of the qkv bias (gradient {key_bias_grad_ratio:.3g}); "
          f"{result['seconds']:.1f} s")
    ok = max(result["max_rel_loss"], result["max_rel_grad_norm"], worst) <= args.tolerance
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
