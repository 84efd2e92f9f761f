// RmsNormImpl: normalises by the root mean square in fp32 (as HF LlamaRMSNorm does), then scales.
#include "lowbit/model/norms.h"

namespace lowbit::model {

RmsNormImpl::RmsNormImpl(int64_t dim, double eps) : eps_(eps) {
    weight_ = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
    auto x32 = x.to(torch::kFloat32);                                           // (..., dim)
    auto inv_rms = torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps_);  // (..., 1)
    return weight_ * (x32 * inv_rms).to(x.scalar_type());
}

}  // namespace lowbit::model
