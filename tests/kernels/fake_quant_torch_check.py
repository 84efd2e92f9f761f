# Independent PyTorch check of our fake quantization (run by fake_quant_torch_test.cpp): recomputes
# docs/quantized-pretraining.md §Linear quantization (both grids) with torch fp32 ops, compares the
# outputs, scales and zero points of fake_quant_ref and fake_quant_cpu_parallel bit for bit, and
# compares per-row symmetric 8-bit with torch.fake_quantize_per_channel_affine. Exit 0 = all equal.
import struct
import sys
from pathlib import Path

import torch

# Per-channel torch op vs ours: at most this fraction of elements may differ (by one step), see
# check_per_channel_op.
MAX_PER_CHANNEL_MISMATCH_FRACTION = 1e-3


def load(path: Path, count: int, offset: int = 0) -> torch.Tensor:
    data = path.read_bytes()
    assert len(data) % 4 == 0
    t = torch.frombuffer(bytearray(data), dtype=torch.float32)
    return t[offset:offset + count].clone()


def bits(t: torch.Tensor) -> torch.Tensor:
    # Bit patterns, so that -0 != +0 (torch.equal on floats would call them equal).
    return t.contiguous().view(torch.int32)


def bit_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.equal(bits(a), bits(b))


def const(value: float, like: torch.Tensor) -> torch.Tensor:
    # Constants as full fp32 tensors of the operand's shape: every op is then a plain elementwise
    # fp32 op, with no Python-scalar or broadcast-scalar special path in between.
    return torch.full_like(like, value, dtype=torch.float32)


def grid_constants(n_bits: int, symmetric: bool, grid: str, signed: bool = True):
    """(Qn, Qp, divisor of the range): docs/quantized-pretraining.md §Integer grids."""
    if not signed:  # the reference code's signed: false: Qn = 0, Qp = 2^b - 1, same divisors
        assert grid == "reference"
        qp = 2 ** n_bits - 1
        return 0, qp, qp if symmetric else 2 * qp
    if symmetric:  # s = absmax / Qp; the full grid is identical when symmetric
        qp = 2 ** (n_bits - 1) - 1
        return -(2 ** (n_bits - 1)), qp, qp
    if grid == "reference":  # signed codes, step (max - min) / (2*Qp)
        qp = 2 ** (n_bits - 1) - 1
        return -(2 ** (n_bits - 1)), qp, 2 * qp
    levels = 2 ** n_bits - 1  # full grid: unsigned codes 0..2^b-1, step (max - min) / (2^b - 1)
    return 0, levels, levels


def groups_of(x: torch.Tensor, granularity: str, group_size: int) -> torch.Tensor:
    """One reduction group per row of the result (docs/quantized-pretraining.md §Granularities)."""
    rows, cols = x.shape
    if granularity == "per_tensor":
        return x.reshape(1, rows * cols)
    if granularity == "per_row":
        return x.reshape(rows, cols)
    assert granularity == "per_group" and cols % group_size == 0
    return x.reshape(rows * cols // group_size, group_size)  # contiguous along the last axis


def fake_quant(x, n_bits, symmetric, grid, granularity, group_size, r_min, signed=True):
    """Returns (x_hat, s, zero point) with zero point = z (reference grid) or zp (full grid)."""
    qn, qp, divisor = grid_constants(n_bits, symmetric, grid, signed)
    g = groups_of(x, granularity, group_size)
    if symmetric:
        absmax = g.abs().amax(dim=1, keepdim=True)
        s = torch.maximum(absmax, const(r_min, absmax)) / const(divisor, absmax)
        t = g / s.expand_as(g)
        q = torch.round(torch.clamp(t, min=qn, max=qp))  # torch.round: half to even
        x_hat = q * s.expand_as(g)
        zero = torch.zeros_like(s)
    else:
        lo = g.amin(dim=1, keepdim=True)
        hi = g.amax(dim=1, keepdim=True)
        s = torch.maximum(hi - lo, const(r_min, lo)) / const(divisor, lo)
        se = s.expand_as(g)
        t = g / se
        if grid == "reference":
            zero = torch.round(lo / s - const(qn, lo))  # z = round(min/s - Qn)
            q = torch.round(torch.clamp(t - zero.expand_as(g), min=qn, max=qp))
            x_hat = (q + zero.expand_as(g)) * se  # (q + z) * s
        else:
            zero = torch.round(-lo / s)  # zp = round(-min/s)
            q = torch.round(torch.clamp(t + zero.expand_as(g), min=qn, max=qp))
            x_hat = (q - zero.expand_as(g)) * se  # (q - zp) * s
    # Self-check that torch's fp32 x/s is the correctly rounded quotient (no reciprocal trick):
    # float64 division then rounding to float32 is correctly rounded (53 >= 2*24 + 2 bits).
    exact_t = (g.double() / s.expand_as(g).double()).float()
    assert bit_equal(t, exact_t), "torch fp32 division is not correctly rounded"
    return x_hat.reshape(x.shape), s.flatten(), zero.flatten()


def check_per_channel_op(x: torch.Tensor, ours: torch.Tensor, our_scales: torch.Tensor):
    """Ours (per-row symmetric 8-bit) vs torch.fake_quantize_per_channel_affine with our scales.

    Two known differences, both checked to be the only ones:
    - PyTorch's CPU kernel computes nearbyint(x * inv_scale) with inv_scale = 1.0f / scale, where
      the documented formula and our kernels compute round(x / s). fl(x * fl(1/s)) can differ
      from fl(x/s) in the last bit, which changes the code only where x/s is within an ulp of a
      half-integer: an exact tie such as 2.5 can become 2.5000002 and round up instead of to even
      (inputs built as (k + 0.5)*s mismatch in about a third of their elements). Random data has
      no such ties, so this is expected to be exact here; if not, each mismatch must be of that
      kind and one step s away.
    - It goes through int64 codes, so a code of -0 comes back as +0 (we keep torch.round's -0, as
      PyTorch's own round(x/s)*s does). Zeros are compared by value and counted separately.
    Returns (reciprocal mismatches, signed-zero differences, elements).
    """
    rows = x.shape[0]
    zero_point = torch.zeros(rows, dtype=torch.int32)
    theirs = torch.fake_quantize_per_channel_affine(x, our_scales, zero_point, 0, -127, 127)
    se = our_scales.reshape(rows, 1).expand_as(x)
    # Emulation of PyTorch's kernel (+ 0.0 turns -0 into +0 like the int64 round trip), to show the
    # explanation above is the whole story.
    inv = (const(1.0, our_scales) / our_scales).reshape(rows, 1).expand_as(x)
    q_recip = torch.round(torch.clamp(x * inv, min=-127, max=127)) + const(0.0, x)
    assert bit_equal(theirs, q_recip * se), "torch per-channel op is not round(x * (1/s)) * s"
    signed_zeros = int(((bits(theirs) != bits(ours)) & (ours == 0) & (theirs == 0)).sum())
    mismatch = bits(theirs) != bits(ours + const(0.0, ours))
    count = int(mismatch.sum())
    if count:
        q_div = torch.round(torch.clamp(x / se, min=-127, max=127))
        assert torch.equal(mismatch, q_div != q_recip), "mismatch not explained by 1/s"
        assert bool(((theirs - ours).abs() <= se)[mismatch].all()), "mismatch above one step"
        assert count <= MAX_PER_CHANNEL_MISMATCH_FRACTION * x.numel(), "too many mismatches"
    return count, signed_zeros, x.numel()


def main() -> int:
    if sys.byteorder != "little":
        print("the raw files are little-endian float32; this host is big-endian")
        return 2
    torch.set_num_threads(1)
    folder = Path(sys.argv[1])
    inputs = {}
    cases = []
    for line in (folder / "manifest.txt").read_text().splitlines():
        f = line.split()
        if f[0] == "input":
            rows, cols = int(f[2]), int(f[3])
            inputs[f[1]] = load(folder / f"{f[1]}.f32", rows * cols).reshape(rows, cols)
        elif f[0] == "case":
            cases.append(f[1:])
    failures = []
    checked = 0
    per_channel = [0, 0, 0, 0]  # configurations, mismatches, signed-zero differences, elements
    unsigned_cases = 0
    for case_id, name, n_bits, sym, grid, gran, group_size, r_min_hex, n_groups, sgn in cases:
        x = inputs[name]
        n, ng = x.numel(), int(n_groups)
        n_bits, symmetric, group_size = int(n_bits), sym == "1", int(group_size)
        signed = sgn == "1"
        unsigned_cases += 0 if signed else 1
        r_min = struct.unpack("<f", bytes.fromhex(r_min_hex)[::-1])[0]  # exact float32 value
        label = (f"case {case_id}: {name} {n_bits}-bit {'sym' if symmetric else 'asym'} {grid} "
                 f"{'' if signed else 'unsigned '}"
                 f"{gran}{group_size if gran == 'per_group' else ''} r_min={r_min:g}")
        path = folder / f"case{case_id}.f32"
        expected = fake_quant(x, n_bits, symmetric, grid, gran, group_size, r_min, signed)
        ours = {
            "ref": (load(path, n, 0).reshape(x.shape), load(path, ng, 2 * n),
                    load(path, ng, 2 * n + 2 * ng)),
            "cpu_parallel": (load(path, n, n).reshape(x.shape), load(path, ng, 2 * n + ng),
                             load(path, ng, 2 * n + 3 * ng)),
        }
        for impl, got in ours.items():
            for what, e, g in zip(("x_hat", "scale", "zero point"), expected, got):
                if not bit_equal(e, g):
                    diff = (bits(e) != bits(g)).nonzero()
                    i = tuple(diff[0].tolist())
                    failures.append(f"{label}: {impl} {what} differs at {len(diff)} places, "
                                    f"first {i}: torch {e[i].item()!r} ours {g[i].item()!r}")
            checked += 1
        if symmetric and signed and n_bits == 8 and gran == "per_row":
            count, signed_zeros, total = check_per_channel_op(x, ours["ref"][0], ours["ref"][1])
            per_channel[0] += 1
            per_channel[1] += count
            per_channel[2] += signed_zeros
            per_channel[3] += total
    print(f"fake_quant vs independent torch fp32: {len(cases)} configurations x "
          f"(ref, cpu_parallel) = {checked} comparisons of x_hat, scales and zero points "
          f"({unsigned_cases} configurations on the unsigned reference grid)")
    print(f"torch.fake_quantize_per_channel_affine (per-row sym 8-bit, {per_channel[0]} "
          f"configurations): {per_channel[1]} of {per_channel[3]} elements differ"
          + (" (bit-exact" if per_channel[1] == 0 else " (each by one step, from x * (1/s)")
          + f"; {per_channel[2]} zeros are +0 there and -0 in ours)")
    for f in failures[:40]:
        print("MISMATCH " + f)
    if failures:
        print(f"FAILED: {len(failures)} mismatching arrays")
        return 1
    print("OK: all bit-identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
