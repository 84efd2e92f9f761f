// RMSNorm (Llama): x / sqrt(mean(x²) + eps) · weight, weight only, statistics in fp32.
// GPT-2 uses torch::nn::LayerNorm directly.
#pragma once

#include <torch/torch.h>

namespace lowbit::model {

class RmsNormImpl : public torch::nn::Module {
public:
    RmsNormImpl(int64_t dim, double eps);

    // x (..., dim) -> (..., dim) in x's dtype.
    torch::Tensor forward(const torch::Tensor& x);

    const torch::Tensor& weight() const {
        return weight_;
    }

    double eps() const {
        return eps_;
    }

private:
    torch::Tensor weight_;  // (dim), starts at ones
    double eps_;
};

TORCH_MODULE(RmsNorm);

}  // namespace lowbit::model
