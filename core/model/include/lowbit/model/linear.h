// Linear: the single linear-layer abstraction of every model (weight (out, in), optional bias),
// carrying its stable layer path ("blocks.3.attn.qkv") and role ("qkv", "fc1", "q", "lm_head").
// Quantization will hook into forward(); every matmul of a model goes through here.
#pragma once

#include <torch/torch.h>

#include <string>

namespace lowbit::model {

class LinearImpl : public torch::nn::Module {
public:
    // A layer that owns its weight (out_features, in_features) and, when `bias`, a bias (out).
    // Parameters start as zeros; the model initialises them from its seed.
    LinearImpl(
        int64_t in_features, int64_t out_features, bool bias, std::string path, std::string role);

    // A bias-free layer whose weight (out, in) is owned (registered) elsewhere, e.g. an lm_head
    // tied to the token embedding: same tensor, one parameter, so it is not registered here.
    LinearImpl(torch::Tensor shared_weight, std::string path, std::string role);

    // x (..., in) -> (..., out).
    torch::Tensor forward(const torch::Tensor& x);

    const torch::Tensor& weight() const {
        return weight_;
    }

    // Undefined when the layer has no bias.
    const torch::Tensor& bias() const {
        return bias_;
    }

    bool has_bias() const {
        return bias_.defined();
    }

    bool weight_is_shared() const {
        return shared_;
    }

    int64_t in_features() const {
        return weight_.size(1);
    }

    int64_t out_features() const {
        return weight_.size(0);
    }

    const std::string& path() const {
        return path_;
    }

    const std::string& role() const {
        return role_;
    }

    void pretty_print(std::ostream& stream) const override;

private:
    torch::Tensor weight_;  // (out, in)
    torch::Tensor bias_;    // (out) or undefined
    bool shared_ = false;
    std::string path_;
    std::string role_;
};

TORCH_MODULE(Linear);

}  // namespace lowbit::model
