// AdamW whose moments m and v are STORED in low-bit form, with real memory savings
// (docs/quantized-pretraining.md §Quantized AdamW, §Stored moments): per parameter, each moment
// is either float32 or integer codes (one byte for 5..8 bits, two per byte for 2..4) plus
// per-tensor/row/block scales (kernels/quantized_adam_state.h). Each step runs the fused kernel
// (dequantize, decoupled decay, moment update, update of p from the unquantized m_t and v_t,
// requantize) on the parameter's device: CPU threads or CUDA. That equals the reference code's
// AdamW, which keeps fp32 states and quantizes them at the start of the next step. Parameters
// without quantizers follow AdamW exactly (same torch ops, same names).
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/kernels/fake_quant.h"
#include "lowbit/kernels/quantized_adam_state.h"
#include "lowbit/train/adamw.h"
#include "lowbit/train/optimizer.h"

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::train {

/// One parameter and the quantizers of its moments (nullopt: that moment stays float32).
struct QuantizedAdamWParam {
    std::string name;
    torch::Tensor param;  // float32, CPU or CUDA
    std::optional<kernels::StateQuantFormat> m_format;
    std::optional<kernels::StateQuantFormat> v_format;
};

/// The stored-state format of a fake quantizer (kernels::stored_state_granularity): per-tensor
/// and per-row carry over; per-group becomes blocks of group_size elements of the flattened state
/// (identical groups whenever group_size divides the last dimension); per-block is those blocks
/// with no divisibility requirement. Throws util::BadInput for stochastic rounding (the stored
/// states round to nearest, as the reference code). The recipe's quant.optim_v_mapping is the
/// kernels' SecondMomentMapping itself.
kernels::StateQuantFormat state_quant_format(const kernels::FakeQuantParams& params);

/// The same from a recipe entry (optim_m / optim_v); nullopt when the entry is off (bits 16/32).
std::optional<kernels::StateQuantFormat> state_quant_format(const config::QuantizerSpec& spec);

/// A quantized parameter's moments as float32 tensors of the parameter's shape and device, for
/// telemetry: exactly the values the optimizer uses at its next step.
struct QuantizedMomentsView {
    std::string name;
    torch::Tensor m;
    torch::Tensor v;
    std::optional<kernels::StateQuantFormat> m_format;  // nullopt: m is float32
    std::optional<kernels::StateQuantFormat> v_format;
    kernels::SecondMomentMapping v_mapping = kernels::SecondMomentMapping::kLinear;
    /// The fake quantizer of fake_quant.h that reproduces the stored m (or v) from the float
    /// values on the param's (rows, cols) view, when one exists (per tensor, per channel, or
    /// blocks that divide the row length); for the sqrt mapping v_params applies to sqrt(v).
    std::optional<kernels::FakeQuantParams> m_params;
    std::optional<kernels::FakeQuantParams> v_params;
};

class QuantizedAdamW final : public Optimizer {
public:
    /// Parameters in a stable order (the model's named_parameters). Decay applies to parameters
    /// with dim >= 2, as AdamW. Throws util::BadInput for a non-float32 parameter or a format
    /// the kernels reject (bits outside 2..8, block size < 1).
    QuantizedAdamW(std::vector<QuantizedAdamWParam> parameters,
                   AdamWOptions options,
                   kernels::SecondMomentMapping v_mapping = kernels::SecondMomentMapping::kLinear);
    ~QuantizedAdamW() override;

    void step(double lr) override;

    int64_t steps_taken() const override {
        return steps_taken_;
    }

    /// Float32 moments keep AdamW's names "<param>.exp_avg" / "<param>.exp_avg_sq"; a quantized
    /// moment is "<name>.codes" (uint8), "<name>.scales", "<name>.zero_points" (asymmetric only)
    /// and "<name>.format" (int64: bits, symmetric, grid, granularity, block size, mapping).
    OptimizerState state() const override;

    /// Restores state(): identical formats are copied code for code (a bit-exact resume); a
    /// float32 moment loaded into a quantized slot is quantized, a quantized one into a float32
    /// slot or a different format is dequantized first (what the reference code would do).
    void load_state(const OptimizerState& state) override;

    /// Codes + scales + zero points + float32 moments, in bytes.
    int64_t state_bytes() const override;

    /// The dequantized moments of every parameter with at least one quantized moment.
    std::vector<QuantizedMomentsView> quantized_moments() const;

private:
    struct Slot;
    std::vector<Slot> slots_;
    AdamWOptions options_;
    kernels::SecondMomentMapping v_mapping_;
    int64_t steps_taken_ = 0;
};

}  // namespace lowbit::train
