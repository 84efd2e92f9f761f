// The fake-quantized linear layer as a LibTorch autograd Function (docs/quantized-pretraining.md
// §Quantized linear layer): forward Y = Q_A(X)·Q_W(W)ᵀ + b, saving the UNQUANTIZED X and W; the
// backward mode chooses which GEMMs get the quantized output gradient Q_G(G) and, for ste only,
// multiplies it with the quantized operands Q_W(W) and Q_A(X) instead of W and X (see §Backward
// modes). Scales are recomputed on every call.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/kernels/fake_quant.h"
#include "lowbit/quant/layer_quantizers.h"

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
};

// The call of `layer` at training step `step`, micro-batch `micro_batch` (seeds derived from
// them, see stochastic_rounding_seed).
QuantizedLinearCall quantized_linear_call(const LayerQuantizers& layer,
                                          std::int64_t step,
                                          std::int64_t micro_batch);

// A tensor as one quantizer sees it: the 2-D view whose rows (and row groups) the quantizer's
// granularity lays its scales on, and the quantizer with this call's seed (nullopt: the tensor
// stays in full precision). Telemetry records exactly this pair, so its statistics describe the
// groups and seeds the training step used (docs/quantized-pretraining.md §Telemetry).
struct QuantizerInput {
    torch::Tensor x;
    std::optional<kernels::FakeQuantParams> params;
};

// The activation quantizer's input: X as (N, in) with the call's activation quantizer.
QuantizerInput activation_quantizer_input(const torch::Tensor& x2d,
                                          const QuantizedLinearCall& call);

// The output-gradient quantizer's input for G (N, out). With blocks > 1 (split q/k/v) each of the
// `blocks` column blocks (out/blocks wide) gets its own scales: per tensor, the view is
// (blocks, N·out/blocks), one row per block, quantized per row; per token or per group, it is
// (N·blocks, out/blocks), one row per token and block. With blocks == 1 it is G itself.
QuantizerInput grad_output_quantizer_input(const torch::Tensor& g,
                                           const std::optional<kernels::FakeQuantParams>& params,
                                           int blocks);

// Q_G(G) for G (N, out): fake quantization of grad_output_quantizer_input's view, laid back as
// (N, out). Same shape and dtype as g.
torch::Tensor quantize_grad_output(const torch::Tensor& g,
                                   const kernels::FakeQuantParams& params,
                                   int blocks);

// The autograd Function. Shapes: x2d (N, in) with N = B·T, weight (out, in), bias (out) or an
// empty tensor (0) for none (custom Functions take defined tensors only); returns (N, out).
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
// Precision: the quantizers see W in its own dtype (the fp32 master weight) and X, G in theirs
// (bf16 inputs are quantized in fp32 and rounded back). Under autocast the GEMMs run in the
// autocast dtype (bf16), as F.linear would; otherwise in X's dtype. dX and dW are returned in
// X's and W's dtypes.
struct QuantizedLinearFunction : public torch::autograd::Function<QuantizedLinearFunction> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx,
                                 const torch::Tensor& x2d,
                                 const torch::Tensor& weight,
                                 const torch::Tensor& bias,
                                 const QuantizedLinearCall& call);

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grad_outputs);
};

// QuantizedLinearFunction::apply for x (..., in) -> (..., out); bias (out) or undefined.
torch::Tensor quantized_linear(const torch::Tensor& x,
                               const torch::Tensor& weight,
                               const torch::Tensor& bias,
                               const QuantizedLinearCall& call);

}  // namespace lowbit::quant
