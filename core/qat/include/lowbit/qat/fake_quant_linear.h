// FakeQuantLinear: a Linear's product with its fake-quantized weight, y = x·Ŵᵀ + b with Ŵ from a
// learnable GroupQuantizer (docs/efficientqat.md §Block-AP), differentiable in W, s and z.
#pragma once

#include "lowbit/model/weight_only_linear.h"
#include "lowbit/qat/group_quantizer.h"

#include <torch/torch.h>

namespace lowbit::qat {

class FakeQuantLinear : public model::WeightOnlyLinear {
public:
    explicit FakeQuantLinear(GroupQuantizer quantizer) : quantizer_(std::move(quantizer)) {}

    torch::Tensor forward(const torch::Tensor& x,
                          const torch::Tensor& weight,
                          const torch::Tensor& bias) override {
        if (!enabled_) {
            return torch::nn::functional::linear(x, weight, bias);
        }
        return torch::nn::functional::linear(
            x, quantizer_.fake_quantize(weight).to(x.scalar_type()), bias);
    }

    // Off: the layer's float weight as it is (how Block-AP computes its targets).
    void set_enabled(bool enabled) {
        enabled_ = enabled;
    }

    GroupQuantizer& quantizer() {
        return quantizer_;
    }

private:
    GroupQuantizer quantizer_;
    bool enabled_ = true;
};

}  // namespace lowbit::qat
