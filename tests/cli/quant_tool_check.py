# Independent PyTorch computation for cli_quant_tool_test.cpp: reads IN.safetensors, fake-quantizes
# the selected tensors with the formulas of docs/quantized-pretraining.md §Linear quantization
# (fp32 torch ops), and prints one line per tensor: "name sqnr_db mse clip_percent
# underflow_percent", the metrics in float64 over the float32 values.
# Usage: quant_tool_check.py IN BITS SYMMETRIC GRID GRANULARITY GROUP_SIZE NAME...
import math
import sys

import torch
from safetensors.torch import load_file


def quantize(x, bits, symmetric, grid, granularity, group_size, r_min=1e-5):
    rows = x.reshape(-1, x.shape[-1])
    if granularity == "per_group":
        rows = rows.reshape(-1, group_size)
    elif granularity == "per_tensor":
        rows = rows.reshape(1, -1)
    if symmetric:
        qn, qp = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        s = torch.clamp(rows.abs().amax(dim=1, keepdim=True), min=r_min) / qp
        t = rows / s
        q = torch.round(torch.clamp(t, qn, qp))
        return t, q, q * s, qn, qp
    lo = rows.amin(dim=1, keepdim=True)
    hi = rows.amax(dim=1, keepdim=True)
    if grid == "full":
        qn, qp = 0, 2 ** bits - 1
        s = torch.clamp(hi - lo, min=r_min) / qp
        zp = torch.round(-lo / s)
        t = rows / s + zp
        q = torch.round(torch.clamp(t, qn, qp))
        return t, q, (q - zp) * s, qn, qp
    qn, qp = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    s = torch.clamp(hi - lo, min=r_min) / (2 * qp)
    z = torch.round(lo / s - qn)
    t = rows / s - z
    q = torch.round(torch.clamp(t, qn, qp))
    return t, q, (q + z) * s, qn, qp


def main():
    path, bits, symmetric, grid, granularity, group_size = sys.argv[1:7]
    tensors = load_file(path)
    for name in sys.argv[7:]:
        x = tensors[name].to(torch.float32)
        t, _, xq, qn, qp = quantize(x, int(bits), symmetric == "true", grid, granularity,
                                    int(group_size))
        xf = x.reshape(xq.shape).double()
        err = xf - xq.double()
        signal = float((xf * xf).sum())
        noise = float((err * err).sum())
        n = xf.numel()
        r = torch.round(t)
        clipped = int(((r < qn) | (r > qp)).sum())
        underflow = int(((xf != 0) & (xq == 0)).sum())
        print(f"{name} {10 * math.log10(signal / noise):.10f} {noise / n:.10e} "
              f"{100 * clipped / n:.10f} {100 * underflow / n:.10f}")


main()
