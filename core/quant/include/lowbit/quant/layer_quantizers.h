// LayerQuantizers: the resolved quantizers of one Linear layer (weight, activation, output
// gradient, AdamW m and v; nullopt = that tensor stays in full precision), its backward mode and
// how its output gradient is split, plus the seed derivation that makes stochastic rounding
// reproducible across a resume. Built by resolve_quant_plan (quant_plan.h).
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/kernels/fake_quant.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace lowbit::quant {

// The tensor kinds of a quantized linear, in the order of the recipe's quant: section. The names
// (to_string) are the ones the store and the telemetry use: weight, activation, grad_output,
// optim_m, optim_v.
enum class TensorKind { kWeight = 0, kActivation = 1, kGradOutput = 2, kOptimM = 3, kOptimV = 4 };
inline constexpr std::array<TensorKind, 5> kTensorKinds = {TensorKind::kWeight,
                                                           TensorKind::kActivation,
                                                           TensorKind::kGradOutput,
                                                           TensorKind::kOptimM,
                                                           TensorKind::kOptimV};
const char* to_string(TensorKind kind);

// Seed of one stochastic rounding of one tensor: a hash of (recipe seed, layer index, tensor
// kind, training step, micro-batch). Everything it depends on is restored by a resume, so a
// resumed run rounds exactly as an uninterrupted one; there is no hidden call counter.
std::uint64_t stochastic_rounding_seed(std::uint64_t recipe_seed,
                                       std::int64_t layer_index,
                                       TensorKind kind,
                                       std::int64_t step,
                                       std::int64_t micro_batch);

struct LayerQuantizers {
    std::string path;              // e.g. "blocks.0.attn.qkv" (LinearImpl::path())
    std::string role;              // e.g. "qkv" (LinearImpl::role())
    std::int64_t layer_index = 0;  // position in LanguageModelImpl::linears()
    std::uint64_t recipe_seed = 0;

    // Kernel parameters per tensor; their `seed` field is 0 here: use params_at() for a call.
    // W and m, v are (out, in) with one row per output channel; A is viewed (B·T, in) and G
    // (B·T, out), one row per token.
    std::optional<kernels::FakeQuantParams> weight;
    std::optional<kernels::FakeQuantParams> activation;
    std::optional<kernels::FakeQuantParams> grad_output;
    std::optional<kernels::FakeQuantParams> optim_m;
    std::optional<kernels::FakeQuantParams> optim_v;

    config::BackwardMode backward = config::BackwardMode::kPaper;
    config::QuantArithmetic arithmetic = config::QuantArithmetic::kFp32;
    // int8: the forward multiplies the codes of Q_A(X) and Q_W(W) (the recipe checks that both
    // are on, symmetric and signed with scales per tensor or per row).
    config::ForwardGemm forward_gemm = config::ForwardGemm::kFakeQuant;
    // 1, or 3 for a fused qkv (GPT-2's, or a fused Llama's) with quant.split_qkv_grad: G's q, k and
    // v column blocks (each out/3 wide) are quantized separately, each with its own scales.
    int grad_output_blocks = 1;

    const std::optional<kernels::FakeQuantParams>& params(TensorKind kind) const;

    // The parameters of one call: params(kind) with the stochastic-rounding seed of (step,
    // micro_batch). nullopt when that tensor is not quantized.
    std::optional<kernels::FakeQuantParams> params_at(TensorKind kind,
                                                      std::int64_t step,
                                                      std::int64_t micro_batch) const;

    // Whether the linear's own computation changes (W, A or G quantized); m and v alone leave
    // the layer a plain linear and only change the optimizer.
    bool quantizes_linear() const {
        return weight.has_value() || activation.has_value() || grad_output.has_value();
    }

    bool quantizes_anything() const {
        return quantizes_linear() || optim_m.has_value() || optim_v.has_value();
    }
};

// One line for logs and pretty_print, e.g. "W: 8-bit per-row symmetric nearest, G: 8-bit
// per-row symmetric nearest x3 blocks, backward paper" ("full precision" when nothing is).
std::string describe(const LayerQuantizers& quantizers);

// e.g. "8-bit per-row symmetric nearest" (granularity as the kernel sees it).
std::string describe(const kernels::FakeQuantParams& params);

}  // namespace lowbit::quant
