// LinearImpl: y = x Wᵀ + b with the weight stored (out, in) as torch::nn::Linear does.
#include "lowbit/model/linear.h"

#include <utility>

namespace lowbit::model {

LinearImpl::LinearImpl(
    int64_t in_features, int64_t out_features, bool bias, std::string path, std::string role)
    : path_(std::move(path)), role_(std::move(role)) {
    TORCH_CHECK(in_features > 0 && out_features > 0,
                "Linear ",
                path_,
                ": sizes must be positive, got in=",
                in_features,
                " out=",
                out_features);
    weight_ = register_parameter("weight", torch::zeros({out_features, in_features}));
    if (bias) {
        bias_ = register_parameter("bias", torch::zeros({out_features}));
    }
}

LinearImpl::LinearImpl(torch::Tensor shared_weight, std::string path, std::string role)
    : weight_(std::move(shared_weight)),
      shared_(true),
      path_(std::move(path)),
      role_(std::move(role)) {
    TORCH_CHECK(weight_.defined() && weight_.dim() == 2,
                "Linear ",
                path_,
                ": a shared weight must be a defined (out, in) matrix");
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
    // The one place a model multiplies by a weight matrix: (..., in) -> (..., out).
    return torch::nn::functional::linear(x, weight_, bias_);
}

void LinearImpl::pretty_print(std::ostream& stream) const {
    stream << "lowbit::model::Linear(" << path_ << ", role=" << role_ << ", in=" << in_features()
           << ", out=" << out_features() << ", bias=" << (has_bias() ? "true" : "false")
           << (shared_ ? ", shared weight" : "") << ")";
}

}  // namespace lowbit::model
