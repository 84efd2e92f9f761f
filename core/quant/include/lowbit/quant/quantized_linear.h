// The fake-quantized linear layer as a LibTorch autograd Function (docs/quantized-pretraining.md
// §Quantized linear layer): forward Y = Q_A(X)·Q_W(W)ᵀ + b, saving the UNQUANTIZED X and W; the
// backward mode chooses which GEMMs get the quantized output gradient Q_G(G) and, for ste only,
// multiplies it with the quantized operands Q_W(W) and Q_A(X) instead of W and X (see §Backward
// modes). Scales are recomputed on every call, except Q_W(W)'s when the layer keeps it
// (WeightQuantCache).
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/kernels/fake_quant.h"
#include "lowbit/quant/layer_quantizers.h"
#include "lowbit/quant/weight_quant_cache.h"

#include <torch/torch.h>

#include <cstdint>
#include <optional>

namespace lowbit::quant {

// Everything one call needs besides its tensors: the quantizers with this call's stochastic-
// rounding seeds already in them (nullopt = that tensor in full precision).
struct QuantizedLinearCall {
    std::optional<kernels::FakeQuantParams> weight;
    std::optional<kernels::FakeQuantParams> activation;
    std::optional<kernels::FakeQuantParams> grad_output;
    config::BackwardMode backward = config::BackwardMode::kPaper;
    int grad_output_blocks = 1;  // 3: quantize G's q, k, v column blocks separately
    config::QuantArithmetic arithmetic = config::QuantArithmetic::kFp32;
    // T of the (B, T, C) input, for per_position quantizers (their groups are the sequence
    // positions); 0 when unknown. quantized_linear() fills it from x's shape.
    std::int64_t positions = 0;
    // int8: the forward multiplies the codes of Q_A(X) and Q_W(W) (int8_gemm.h); the backward is
    // the same as with fake_quant.
    config::ForwardGemm forward_gemm = config::ForwardGemm::kFakeQuant;
};

// The call of `layer` at training step `step`, micro-batch `micro_batch` (seeds derived from
// them, see stochastic_rounding_seed).
QuantizedLinearCall quantized_linear_call(const LayerQuantizers& layer,
                                          std::int64_t step,
                                          std::int64_t micro_batch);

// A tensor as its quantizer's kernels see it: the 2-D view whose rows (and row groups) the
// quantizer's granularity lays its scales on (per_position: (T, B·C)), and the quantizer with this
// call's seed (nullopt: the tensor stays in full precision). Telemetry records exactly this pair,
// so its statistics describe the groups and seeds the training step used
// (docs/quantized-pretraining.md §Telemetry).
struct QuantizerInput {
    torch::Tensor x;
    std::optional<kernels::FakeQuantParams> params;
};

// The quantizer input of a flattened (N, C) operand, N = B·T (positions = T, needed for
// per_position only).
QuantizerInput operand_quantizer_input(const torch::Tensor& t,
                                       const std::optional<kernels::FakeQuantParams>& params,
                                       std::int64_t positions);

// The activation quantizer's input: X as (N, in) (or its per-position view) with the call's
// activation quantizer.
QuantizerInput activation_quantizer_input(const torch::Tensor& x2d,
                                          const QuantizedLinearCall& call);

// The output-gradient quantizer's input for G (N, out). With blocks > 1 (split q/k/v) each of the
// `blocks` column blocks (out/blocks wide) gets its own scales: per tensor, the view is
// (blocks, N·out/blocks), one row per block, quantized per row; per position, (blocks·T,
// B·out/blocks), one row per block and position; per token or per group, (N·blocks,
// out/blocks), one row per token and block. With blocks == 1 it is operand_quantizer_input.
QuantizerInput grad_output_quantizer_input(const torch::Tensor& g,
                                           const std::optional<kernels::FakeQuantParams>& params,
                                           int blocks,
                                           std::int64_t positions);

// Q_G(G) for G (N, out): fake quantization of grad_output_quantizer_input's view (in float32, or
// in G's dtype with arithmetic input), laid back as (N, out). Same shape and dtype as g.
torch::Tensor quantize_grad_output(
    const torch::Tensor& g,
    const kernels::FakeQuantParams& params,
    int blocks,
    config::QuantArithmetic arithmetic = config::QuantArithmetic::kFp32,
    std::int64_t positions = 0);

// Q(t) of a flattened (N, C) operand of the layer, N = B·T: fake_quantize of the (B, T, C) view
// for per_position (positions = T), in float32 or, with arithmetic input and a reduced-precision
// t, in t's own dtype (fake_quantize_in_dtype). Same shape and dtype as t.
torch::Tensor quantize_operand(const torch::Tensor& t,
                               const kernels::FakeQuantParams& params,
                               config::QuantArithmetic arithmetic,
                               std::int64_t positions);

// The autograd Function. Shapes: x2d (N, in) with N = B·T, weight (out, in), bias (out) or an
// empty tensor (0) for none (custom Functions take defined tensors only), weight_q (out, in) =
// Q_W(W) computed by the caller (a WeightQuantCache's) or (0) to quantize W here; returns (N, out).
// With forward_gemm int8, weight_q is instead Q_W(W)'s int8 codes and weight_q_scales their
// scales ((out) or (1)); otherwise weight_q_scales is (0). weight_q gets no gradient: the
// straight-through gradient reaches W.
//
// Backward, with G = dL/dY (N, out) and Ĝ = Q_G(G) (Ĝ = G when G is not quantized):
//   paper       dX = G·W      dW = Ĝᵀ·X       (the reference code since March 2024)
//   switchback  dX = Ĝ·W      dW = Gᵀ·X
//   both        dX = Ĝ·W      dW = Ĝᵀ·X
//   ste         dX = Ĝ·Q_W(W) dW = Ĝᵀ·Q_A(X)  (straight-through estimator of a linear on the
//               quantized operands: Q_W and Q_A pass the gradient unchanged, the GEMMs use the
//               forward's Q_W(W) and Q_A(X); Ĝ, quantized only when grad_output is on, feeds both
//               GEMMs, so with grad_output off this is dX = G·Q_W(W), dW = Gᵀ·Q_A(X))
//   db = Σ_rows G, always from the unquantized G and summed in float32.
// Q_W(W) and Q_A(X) in ste are recomputed from the saved unquantized tensors with the forward's
// parameters and seeds, so they equal the forward's operands bit for bit.
//
// Precision: the quantizers see W in its own dtype (the fp32 master weight) and X, G in theirs;
// with arithmetic fp32 bf16 inputs are quantized in fp32 and rounded back, with arithmetic input
// they are quantized in bf16 (docs/quantized-pretraining.md §Quantizer arithmetic). Under autocast
// the GEMMs run in the autocast dtype (bf16), as F.linear would; otherwise in X's dtype. dX and dW
// are returned in X's and W's dtypes.
struct QuantizedLinearFunction : public torch::autograd::Function<QuantizedLinearFunction> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx,
                                 const torch::Tensor& x2d,
                                 const torch::Tensor& weight,
                                 const torch::Tensor& bias,
                                 const torch::Tensor& weight_q,
                                 const torch::Tensor& weight_q_scales,
                                 const QuantizedLinearCall& call);

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grad_outputs);
};

// QuantizedLinearFunction::apply for x (..., in) -> (..., out); bias (out) or undefined. Sets
// call.positions to T = x.size(-2) for a 3-D x (B, T, in); a per_position quantizer needs it.
// With a weight_cache, a round-to-nearest Q_W(W) (or its int8 codes) comes from it (computed once
// per weight version) instead of being recomputed by every call.
torch::Tensor quantized_linear(const torch::Tensor& x,
                               const torch::Tensor& weight,
                               const torch::Tensor& bias,
                               const QuantizedLinearCall& call,
                               WeightQuantCache* weight_cache = nullptr);

}  // namespace lowbit::quant
