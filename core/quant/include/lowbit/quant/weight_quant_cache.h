// Q_W(W) of one layer, kept from one optimizer step to the next (docs/quantized-pretraining.md
// §Quantized weights once per step): W changes only when the optimizer updates it, so every
// micro-batch's forward, the ste backward and every evaluation batch in between reuse one
// fake-quantized copy. Round-to-nearest quantizers only: stochastic rounding draws anew per call.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/kernels/fake_quant.h"
#include "lowbit/quant/int8_gemm.h"

#include <torch/torch.h>

#include <cstdint>

namespace lowbit::quant {

class WeightQuantCache {
public:
    // Whether a weight quantizer's result may be kept (round to nearest).
    static bool cacheable(const kernels::FakeQuantParams& params);

    // quantize_operand(w, params, arithmetic) (detached, same shape and dtype as w), recomputed
    // only when w is another tensor, its storage moved, its version changed (every in-place
    // update bumps it: the optimizer's step, a checkpoint load) or the quantizer changed.
    torch::Tensor get(const torch::Tensor& w,
                      const kernels::FakeQuantParams& params,
                      config::QuantArithmetic arithmetic);

    // int8_operand(w, params) (the int8 forward GEMM's W), kept under the same key as get().
    Int8Operand get_int8(const torch::Tensor& w, const kernels::FakeQuantParams& params);

    // How many times get() or get_int8() quantized (for tests and benchmarks).
    std::int64_t computations() const {
        return computations_;
    }

private:
    // Drops the kept results unless they were computed from w as it is now with these settings.
    void refresh(const torch::Tensor& w,
                 const kernels::FakeQuantParams& params,
                 config::QuantArithmetic arithmetic);

    torch::Tensor source_;  // the weight the cached result was computed from
    // Its storage then, held so that no new allocation can reuse the address (set_data).
    c10::Storage source_storage_;
    const void* source_data_ = nullptr;
    std::uint32_t source_version_ = 0;
    kernels::FakeQuantParams params_;
    config::QuantArithmetic arithmetic_ = config::QuantArithmetic::kFp32;
    torch::Tensor quantized_;  // (out, in): Q_W(source_), or undefined until asked for
    Int8Operand int8_;         // codes (out, in) and scales (out) or (1), or undefined
    std::int64_t computations_ = 0;
};

}  // namespace lowbit::quant
