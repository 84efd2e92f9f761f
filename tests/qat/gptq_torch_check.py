# Independent PyTorch GPTQ for gptq_torch_test.cpp (docs/efficientqat.md §GPTQ baseline): one
# column at a time with the full error update after each column (no lazy batches), the inverse
# Hessian's Cholesky factor from torch.linalg, min-max asymmetric groups with the step rounded to
# fp16 and the zero point clamped, static groups under act-order. Reads <case>.safetensors
# (w, h, bits, group, act_order, and our codes, zeros, steps, weight), prints one line per case.
# Exit 0 = every code equal and Ŵ within 1e-6 of ours.
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file


def group_params(cols, bits):
    """Step (fp16-rounded) and zero point of the rows of cols (out, G), as in the quantizer."""
    cols = cols.to(torch.float32)
    qmax = 2 ** bits - 1
    lo = cols.amin(dim=1)
    hi = cols.amax(dim=1)
    s = torch.clamp((hi - lo) / qmax, 1e-4, 1e4)
    z = torch.round(-torch.clamp(lo / s, -1e4, 1e4))
    return s.half().double(), torch.clamp(z, 0, qmax).double()


def gptq(w, h, bits, group, act_order, damp=0.01):
    w = w.double().clone()
    h = h.double().clone()
    out, n = w.shape
    qmax = 2 ** bits - 1
    dead = torch.diag(h) == 0
    h[dead, dead] = 1
    w[:, dead] = 0
    static = [group_params(w[:, g * group:(g + 1) * group], bits) for g in range(n // group)]
    perm = torch.argsort(torch.diag(h), descending=True, stable=True) if act_order else torch.arange(n)
    w = w[:, perm]
    h = h[perm][:, perm]
    h += damp * torch.mean(torch.diag(h)) * torch.eye(n, dtype=torch.float64)
    u = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)
    codes = torch.zeros(out, n, dtype=torch.float64)
    steps = torch.zeros(out, n // group, dtype=torch.float64)
    zeros = torch.zeros(out, n // group, dtype=torch.float64)
    s = z = None
    for col in range(n):
        g = int(perm[col]) // group
        if act_order:
            s, z = static[g]
        elif col % group == 0:
            s, z = group_params(w[:, col:col + group], bits)
        q = torch.clamp(torch.round(w[:, col] / s) + z, 0, qmax)
        err = (w[:, col] - (q - z) * s) / u[col, col]
        w[:, col:] -= torch.outer(err, u[col, col:])
        codes[:, int(perm[col])] = q
        steps[:, g] = s
        zeros[:, g] = z
    w_hat = ((codes.view(out, n // group, group) - zeros[:, :, None]) * steps[:, :, None]).view(out, n)
    return codes, zeros, steps, w_hat


def main(folder):
    ok = True
    for path in sorted(Path(folder).glob("*.safetensors")):
        t = load_file(str(path))
        bits = int(t["bits"].item())
        group = int(t["group"].item())
        act_order = bool(t["act_order"].item())
        codes, zeros, steps, w_hat = gptq(t["w"], t["h"], bits, group, act_order)
        same_codes = torch.equal(codes.to(torch.uint8), t["codes"])
        same_params = torch.equal(zeros.to(torch.uint8), t["zeros"]) and torch.equal(
            steps.float(), t["steps"])
        diff = (w_hat.float() - t["weight"]).abs().max().item()
        mismatched = int((codes.to(torch.uint8) != t["codes"]).sum())
        case_ok = same_codes and same_params and diff <= 1e-6
        ok = ok and case_ok
        print(f"{path.stem}: codes {'equal' if same_codes else f'{mismatched} differ'}, "
              f"steps/zeros {'equal' if same_params else 'differ'}, max |dW| {diff:.3g} "
              f"-> {'ok' if case_ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
