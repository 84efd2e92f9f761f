// WeightOnlyLinear: what a Linear computes instead of x·Wᵀ + b when its weight is quantized on its
// own, outside the pretraining quantizers (docs/efficientqat.md §Quantized layers): a fake
// quantizer with learnable steps during Block-AP, a packed low-bit weight afterwards.
#pragma once

#include <torch/torch.h>

namespace lowbit::model {

class WeightOnlyLinear {
public:
    virtual ~WeightOnlyLinear() = default;

    // x (..., in) -> (..., out). `weight` (out, in) is the layer's own float weight (a fake
    // quantizer reads it; a packed layer ignores it), `bias` (out) or undefined.
    virtual torch::Tensor forward(const torch::Tensor& x,
                                  const torch::Tensor& weight,
                                  const torch::Tensor& bias) = 0;
};

}  // namespace lowbit::model
