# Independent PyTorch check of the quantized linear's fidelity options (run by
# quant_fidelity_torch_test.cpp; docs/quantized-pretraining.md §Per-position scales, §Quantizer
# arithmetic, §Fused projections). The test writes operands and our results to
# <folder>/<case>.safetensors; this script recomputes them with the reference code's formulas in
# plain torch and prints one line per case. Exit 0 = every case within its stated tolerance.
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

# GEMM results: ours and torch run the same GEMM on bit-identical operands; the bound only allows
# another BLAS kernel choice (a few ulp of the largest entry).
GEMM_REL_TOL = 1e-6


def grid(n_bits, signed=True):
    """(Qn, Qp) of the reference grid (docs/quantized-pretraining.md §Integer grids)."""
    if signed:
        return -(2 ** (n_bits - 1)), 2 ** (n_bits - 1) - 1
    return 0, 2 ** n_bits - 1


def const(value, like):
    """A float32 constant as a full tensor of like's shape, so that the division below is the
    plain elementwise true division (docs/quantized-pretraining.md §Linear quantization: x/s is
    never a multiplication by 1/s), with no scalar special path in between."""
    return torch.full_like(like, value, dtype=torch.float32)


def quantize_groups(g, n_bits, symmetric, r_min, signed=True):
    """The quantizer over the rows of g (one group per row), in g's dtype. bf16: the reference
    code's own operations with Python-scalar constants, which do not promote a bf16 tensor, so
    every step is rounded to bf16 as in the reference Python under autocast. float32: the same
    formulas with true divisions (the documented float32 arithmetic)."""
    qn, qp = grid(n_bits, signed)
    divisor = qp if symmetric else 2 * qp
    if g.dtype == torch.float32:
        def div(a, v):
            return a / const(v, a)
    else:
        def div(a, v):
            return a / v
    if symmetric:
        s = div(torch.clamp(g.abs().amax(dim=-1, keepdim=True), min=r_min), divisor)
        se = s.expand_as(g)
        return torch.round(torch.clamp(g / se, qn, qp)) * se
    lo = g.amin(dim=-1, keepdim=True)
    hi = g.amax(dim=-1, keepdim=True)
    s = div(torch.clamp(hi - lo, min=r_min), divisor)
    z = torch.round(lo / s - qn)
    se, ze = s.expand_as(g), z.expand_as(g)
    return (torch.round(torch.clamp(g / se - ze, qn, qp)) + ze) * se


def per_position(x3, n_bits, symmetric, r_min, signed=True):
    """One scale per sequence position of (B, T, C): the reduction over dims (0, 2), i.e. the
    legacy per-token quantizer of the reference code that saw the 3-D activation."""
    if symmetric:
        qn, qp = grid(n_bits, signed)
        amax = x3.abs().amax(dim=(0, 2), keepdim=True)  # (1, T, 1)
        s = (torch.clamp(amax, min=r_min) / const(qp, amax)).expand_as(x3)
        return torch.round(torch.clamp(x3 / s, qn, qp)) * s
    t_first = x3.transpose(0, 1).reshape(x3.shape[1], -1)  # (T, B*C)
    q = quantize_groups(t_first, n_bits, symmetric, r_min, signed)
    return q.reshape(x3.shape[1], x3.shape[0], x3.shape[2]).transpose(0, 1)


def bits_of(t):
    return t.contiguous().view(torch.int16 if t.dtype == torch.bfloat16 else torch.int32)


def bit_equal(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(bits_of(a), bits_of(b))


def rel_err(a, b):
    return float((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-30))


def check_per_position(d, failures):
    n_bits, symmetric = int(d["bits"].item()), bool(d["symmetric"].item())
    x, w, b, g = d["x"], d["w"], d["b"], d["g"]  # (B, T, in), (out, in), (out), (B, T, out)
    xq = per_position(x, n_bits, symmetric, 1e-5)
    gq = per_position(g, n_bits, symmetric, 1e-9)
    label = f"per_position {n_bits}-bit {'sym' if symmetric else 'asym'}"
    if not bit_equal(xq, d["xq"]):
        failures.append(f"{label}: Q(X) differs from torch amax over dims (0, 2)")
    if not bit_equal(gq, d["gq"]):
        failures.append(f"{label}: Q(G) differs from torch amax over dims (0, 2)")
    y = torch.nn.functional.linear(xq, w, b)
    dw = gq.reshape(-1, g.shape[-1]).t().mm(x.reshape(-1, x.shape[-1]))  # paper: dW = Q(G)^T X
    dx = g.reshape(-1, g.shape[-1]).mm(w).reshape(x.shape)  # paper: dX = G W
    errors = {"y": rel_err(d["y"], y), "dw": rel_err(d["dw"], dw), "dx": rel_err(d["dx"], dx)}
    for what, e in errors.items():
        if not e <= GEMM_REL_TOL:
            failures.append(f"{label}: {what} relative error {e:.3g} > {GEMM_REL_TOL}")
    # The groups are really positions: position 2 is all zero in x, so its codes are all 0.
    if not bool((xq[:, 2, :] == 0).all()):
        failures.append(f"{label}: the all-zero position did not quantize to 0")
    return f"{label}: Q(X), Q(G) bit-equal; y, dW, dX max rel err " + ", ".join(
        f"{k} {v:.2g}" for k, v in errors.items())


# bf16 arithmetic. The quantizer ops are the same torch ops on the same bf16 operands, so Q(X)
# and Q(G) are expected bit-equal; allowed: an element may differ by one step s where two bf16
# roundings of x/s straddle a half-integer (none expected). The outputs Y (bf16) and dW (fp32 from
# a bf16 GEMM) may differ by bf16 rounding of the GEMM result: relative 2^-7 of the largest entry
# (bf16 has 8 significant bits, unit roundoff 2^-8; one rounding of the result plus accumulation
# order give at most about two units).
BF16_REL_TOL = 2.0 ** -7


def check_bf16(d, failures):
    x, w, g = d["x"], d["w"], d["g"]  # x (B, T, in) bf16, w (out, in) fp32, g (B, T, out) bf16
    label = "bf16 arithmetic input"
    xq = quantize_groups(x.reshape(-1, x.shape[-1]), 8, True, 1e-5).reshape(x.shape)  # per token
    gq = quantize_groups(g.reshape(-1, g.shape[-1]), 8, True, 1e-9).reshape(g.shape)
    wq = quantize_groups(w, 8, True, 1e-5)  # per output channel, fp32
    lines = []
    for what, ref, ours in (("Q(X)", xq, d["xq"]), ("Q(G)", gq, d["gq"])):
        assert ref.dtype == torch.bfloat16
        differ = bits_of(ref) != bits_of(ours)
        step = (ref.float() - ours.float()).abs()
        s = x.float().abs().amax() / 127 if what == "Q(X)" else g.float().abs().amax() / 127
        if bool((step[differ] > s * 1.01).any()):
            failures.append(f"{label}: {what} differs by more than one step somewhere")
        lines.append(f"{what} {int(differ.sum())} of {ref.numel()} differ")
        # The fp32 quantizer (arithmetic: fp32) must give other values: else this test could not
        # tell the two arithmetics apart.
        src = x if what == "Q(X)" else g
        ref32 = quantize_groups(src.float().reshape(-1, src.shape[-1]), 8, True,
                                1e-5 if what == "Q(X)" else 1e-9).to(torch.bfloat16)
        ref32 = ref32.reshape(ref.shape)
        if bit_equal(ref32, ref):
            failures.append(f"{label}: {what} in fp32 equals {what} in bf16; the data cannot "
                            "distinguish the arithmetics")
    if not bit_equal(wq, d["wq"]):
        failures.append(f"{label}: Q(W) (fp32) is not bit-equal")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = torch.nn.functional.linear(xq, wq)
    dw = gq.reshape(-1, g.shape[-1]).t().mm(x.reshape(-1, x.shape[-1])).float()
    for what, ref, ours in (("y", y, d["y"]), ("dw", dw, d["dw"])):
        e = rel_err(ours, ref)
        lines.append(f"{what} rel err {e:.2g}")
        if not e <= BF16_REL_TOL:
            failures.append(f"{label}: {what} relative error {e:.3g} > {BF16_REL_TOL}")
    return f"{label}: " + ", ".join(lines)


def check_fused(d, failures):
    """Per-tensor W quantizer on the fused q|k|v layer = per-tensor quantization of the
    concatenated matrix (one scale for all three blocks)."""
    w = torch.cat([d["wq_in"], d["wk_in"], d["wv_in"]], dim=0)  # (3C, C)
    wq = quantize_groups(w.reshape(1, -1), 8, True, 1e-5).reshape(w.shape)
    label = "fused qkv per-tensor W"
    if not bit_equal(wq, d["w_fused_q"]):
        failures.append(f"{label}: Q(cat(Wq, Wk, Wv)) differs")
    y = torch.nn.functional.linear(d["x"], wq)
    e = rel_err(d["y"], y)
    if not e <= GEMM_REL_TOL:
        failures.append(f"{label}: output relative error {e:.3g} > {GEMM_REL_TOL}")
    # Separate per-tensor scales for q, k, v would differ (the blocks have different ranges).
    separate = torch.cat([quantize_groups(t.reshape(1, -1), 8, True, 1e-5).reshape(t.shape)
                          for t in (d["wq_in"], d["wk_in"], d["wv_in"])])
    if bit_equal(separate, wq):
        failures.append(f"{label}: the test data cannot tell one scale from three")
    return f"{label}: Q(W) bit-equal to torch on the concatenated matrix; y rel err {e:.2g}"


def main():
    torch.set_num_threads(1)
    folder = Path(sys.argv[1])
    failures = []
    checks = {"per_position": check_per_position, "bf16": check_bf16, "fused": check_fused}
    for path in sorted(folder.glob("*.safetensors")):
        kind = path.stem.split("-")[0]
        print(checks[kind](load_file(str(path)), failures))
    for f in failures:
        print("MISMATCH " + f)
    if failures:
        print(f"FAILED: {len(failures)} problems")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
