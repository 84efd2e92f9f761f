// GradientCodec (gradient_codec.h): torch ops on CPU or CUDA tensors alike; byte strings are
// reinterpreted through fresh (aligned) copies.
#include "lowbit/dist/gradient_codec.h"

#include <stdexcept>

namespace lowbit::dist {

GradientCodec::GradientCodec(config::GradientAllreduce encoding) : encoding_(encoding) {
    if (encoding == config::GradientAllreduce::kFp32) {
        throw std::invalid_argument("fp32 gradients are exchanged exactly, not encoded");
    }
}

int64_t GradientCodec::block_elements() const {
    return encoding_ == config::GradientAllreduce::kInt8 ? kInt8BlockElements : 1;
}

int64_t GradientCodec::encoded_bytes(int64_t n) const {
    if (encoding_ == config::GradientAllreduce::kBf16) {
        return 2 * n;
    }
    return n + 4 * (n / kInt8BlockElements);
}

void GradientCodec::encode(const torch::Tensor& values, torch::Tensor out) const {
    const int64_t n = values.numel();
    TORCH_CHECK(values.scalar_type() == torch::kFloat32 && n % block_elements() == 0,
                "the gradient codec encodes float32 values in whole blocks");
    if (encoding_ == config::GradientAllreduce::kBf16) {
        out.copy_(values.to(torch::kBFloat16).view(torch::kUInt8));
        return;
    }
    const torch::Tensor blocks = values.view({-1, kInt8BlockElements});  // (n/512, 512)
    const torch::Tensor scales = blocks.abs().amax(1).div(127.0f);       // (n/512,), NaN kept
    // A zero block keeps scale 0 and codes 0; a non-finite one codes against 1 (its scale
    // carries the NaN or infinity to the decoded values).
    const torch::Tensor usable = scales.gt(0).logical_and(scales.isfinite());
    const torch::Tensor divisor = torch::where(usable, scales, torch::ones_like(scales));
    const torch::Tensor codes = blocks.div(divisor.unsqueeze(1))
                                    .round()
                                    .nan_to_num(0.0, 127.0, -127.0)
                                    .clamp(-127, 127)
                                    .to(torch::kInt8);
    const int64_t scale_bytes = 4 * scales.numel();
    out.narrow(0, 0, scale_bytes).copy_(scales.contiguous().view(torch::kUInt8));
    out.narrow(0, scale_bytes, n).copy_(codes.reshape({-1}).view(torch::kUInt8));
}

torch::Tensor GradientCodec::decode(const torch::Tensor& bytes, int64_t n) const {
    TORCH_CHECK(bytes.numel() == encoded_bytes(n),
                "an encoding of ",
                n,
                " values has ",
                encoded_bytes(n),
                " bytes, not ",
                bytes.numel());
    if (encoding_ == config::GradientAllreduce::kBf16) {
        return bytes.clone().view(torch::kBFloat16).to(torch::kFloat32);
    }
    const int64_t blocks = n / kInt8BlockElements;
    const torch::Tensor scales = bytes.narrow(0, 0, 4 * blocks).clone().view(torch::kFloat32);
    const torch::Tensor codes =
        bytes.narrow(0, 4 * blocks, n).clone().view(torch::kInt8).to(torch::kFloat32);
    return codes.view({blocks, kInt8BlockElements}).mul(scales.unsqueeze(1)).reshape({-1});
}

}  // namespace lowbit::dist
