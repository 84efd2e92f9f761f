// The int8 forward GEMM of a quantized linear (docs/quantized-pretraining.md §Int8 forward GEMM).
// With symmetric signed quantizers Q_A(X)[n, k] = s_A[n]·a[n, k] and Q_W(W)[o, k] = s_W[o]·w[o, k],
// so Y[n, o] = s_A[n]·s_W[o]·Σ_k a[n, k]·w[o, k]: the sum runs over int8 codes into int32 exactly
// (|Σ| ≤ 128²·in < 2^31 for in ≤ 131071) where the fake-quant GEMM rounds its partial sums in
// float, and only the rescale rounds.
#pragma once

#include "lowbit/kernels/fake_quant.h"

#include <torch/torch.h>

#include <string>

namespace lowbit::quant {

// One operand of the GEMM: its codes (rows, cols) int8 and its scales, (rows) float32 for a
// quantizer per row (per_token X, per_channel W) or (1) per tensor; Q(t)[r, :] = scales[r]·codes.
struct Int8Operand {
    torch::Tensor codes;
    torch::Tensor scales;
};

// Why `params` cannot quantize the weight (weight = true: per_channel rows) or the activation
// (per_token rows) of the int8 GEMM; empty when it can (symmetric, signed, 2..8 bits, scales per
// tensor or per row).
std::string int8_operand_problem(const kernels::FakeQuantParams& params, bool weight);

// The codes and scales of Q(t) for t (rows, cols) on any device, float32 or bf16/half (quantized
// in float32, as fake_quantize does). The codes are the fake quantizer's own values divided by
// their scales: Q(t) = q·s rounded once, so the quotient is within 2^-16 of the integer q
// (|q| ≤ 128) and rounds back to it exactly; stochastic rounding keeps its draws.
Int8Operand int8_operand(const torch::Tensor& t, const kernels::FakeQuantParams& params);

// Y (N, out) float32 = (x.codes · w.codesᵀ in int32) · x.scales[n] · w.scales[o] (+ bias[o] when
// bias is defined, float32), for x (N, in) and w (out, in) on one device, each step rounded once
// in that order. On the CPU the rescale and the bias are one pass (kernels/int8_rescale.h). CUDA's
// int8 GEMM takes N > 16 and in, out multiples of 8; other shapes are zero-padded there (zero
// codes add nothing to the sums).
torch::Tensor int8_linear(const Int8Operand& x,
                          const Int8Operand& w,
                          const torch::Tensor& bias = torch::Tensor());

}  // namespace lowbit::quant
