// Private to QuantizedAdamW: one stored Adam moment of one parameter, either float32 (the
// parameter's shape) or low-bit codes + scales (+ zero points) on the parameter's device, with
// its conversions: zero initialisation, float32 in and out, named tensors for checkpoints.
#pragma once

#include "lowbit/kernels/quantized_adam.h"
#include "lowbit/train/optimizer.h"

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace lowbit::train::detail {

class StoredMoment {
public:
    /// A zero moment for `param` (quantized when `format` is set; mapping: kSqrt for v only).
    StoredMoment(const torch::Tensor& param,
                 std::optional<kernels::StateQuantFormat> format,
                 kernels::SecondMomentMapping mapping);

    bool quantized() const {
        return format_.has_value();
    }

    const std::optional<kernels::StateQuantFormat>& format() const {
        return format_;
    }

    /// The float32 moment (only when not quantized).
    torch::Tensor& values() {
        return values_;
    }

    /// Buffers for the kernels (data pointers into this moment's tensors).
    kernels::AdamMoment kernel_view();

    /// The values the moment stands for: float32, the parameter's shape and device.
    torch::Tensor dequantized() const;

    /// Replaces the moment by `values` (any device, the parameter's shape), quantizing if needed.
    void assign(const torch::Tensor& values);

    int64_t bytes() const;

    /// Appends this moment's named tensors under `key` ("<param>.exp_avg" or ".exp_avg_sq").
    void append_state(const std::string& key, OptimizerState* out) const;

    /// Restores from the tensors under `key`; throws util::BadInput naming what is missing.
    void load_state(const std::string& key, const std::map<std::string, torch::Tensor>& by_name);

private:
    std::optional<kernels::StateQuantFormat> format_;
    kernels::SecondMomentMapping mapping_;
    std::vector<int64_t> shape_;
    int64_t rows_ = 0;
    int64_t cols_ = 0;
    torch::Device device_;
    torch::Tensor codes_;        // (code_bytes,) uint8
    torch::Tensor scales_;       // (num_groups,) float32
    torch::Tensor zero_points_;  // (num_groups,) float32, asymmetric only
    torch::Tensor values_;       // float32 moment when not quantized
};

/// (rows, cols) of the 2-D view of a parameter whose last axis is the row: (1, 1) for a scalar.
std::pair<int64_t, int64_t> moment_view_shape(const torch::Tensor& param);

/// Throws c10::Error naming `what` and the parameter when a kernel returned an error.
void check_kernel_status(kernels::Status status, const std::string& what, const std::string& name);

}  // namespace lowbit::train::detail
