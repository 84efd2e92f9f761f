// RoPE tables and rotation. Frequencies are computed in fp32 exactly as HF's default rope
// (inv_freq = 1 / theta^(arange(0, d, 2) / d), angles = position · inv_freq), so logits match.
#include "lowbit/model/rope.h"

#include <cmath>

namespace lowbit::model {

std::pair<torch::Tensor, torch::Tensor> rope_tables(int64_t seq_len,
                                                    int64_t head_dim,
                                                    double theta,
                                                    const torch::Device& device) {
    TORCH_CHECK(head_dim % 2 == 0, "RoPE needs an even head dimension, got ", head_dim);
    auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
    auto exponents =
        torch::arange(0, head_dim, 2, torch::TensorOptions().dtype(torch::kInt64).device(device))
            .to(torch::kFloat32) /
        static_cast<double>(head_dim);                                              // (d/2)
    auto inv_freq = 1.0 / torch::pow(torch::scalar_tensor(theta, f32), exponents);  // (d/2)
    auto positions = torch::arange(seq_len, f32);                                   // (T)
    auto angles = torch::outer(positions, inv_freq);                                // (T, d/2)
    auto full = torch::cat({angles, angles}, -1);                                   // (T, d)
    return {full.cos(), full.sin()};
}

torch::Tensor apply_rope(const torch::Tensor& x,
                         const torch::Tensor& cos,
                         const torch::Tensor& sin) {
    const int64_t half = x.size(-1) / 2;
    auto x1 = x.narrow(-1, 0, half);           // (B, H, T, d/2)
    auto x2 = x.narrow(-1, half, half);        // (B, H, T, d/2)
    auto rotated = torch::cat({-x2, x1}, -1);  // (B, H, T, d)
    auto out = x.to(torch::kFloat32) * cos + rotated.to(torch::kFloat32) * sin;
    return out.to(x.scalar_type());
}

}  // namespace lowbit::model
