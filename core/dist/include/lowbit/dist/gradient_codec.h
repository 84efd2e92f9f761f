// The encodings a data-parallel job may send gradients in (docs/distributed.md §Compressed
// gradients): bf16 (float32 rounded to nearest-even bfloat16) and int8 (per block of
// kInt8BlockElements values one float32 scale s = max|x| / 127 and codes round(x / s), half to
// even). An encoding is a uint8 byte string, so one collective carries any of them.
#pragma once

#include "lowbit/config/recipe.h"

#include <torch/torch.h>

#include <cstdint>

namespace lowbit::dist {

/// Values per int8 block: one 4-byte scale per 512 one-byte codes (0.8% extra bytes).
inline constexpr int64_t kInt8BlockElements = 512;

class GradientCodec {
public:
    /// bf16 or int8 (fp32 is not an encoding: it is exchanged exactly).
    explicit GradientCodec(config::GradientAllreduce encoding);

    /// The lengths encode() accepts are multiples of this (bf16: 1; int8: one block).
    int64_t block_elements() const;

    /// Bytes of the encoding of n values.
    int64_t encoded_bytes(int64_t n) const;

    /// Encodes `values` (float32, contiguous (n,), n a multiple of block_elements()) into `out`
    /// (uint8 (encoded_bytes(n),)). int8 layout: the n / 512 scales (float32, native byte
    /// order), then the n codes. A block holding a NaN or an infinity gets a non-finite scale,
    /// so its decoded values are non-finite too and divergence is still detected.
    void encode(const torch::Tensor& values, torch::Tensor out) const;

    /// The float32 values (n,) that `bytes` (an encode() result of n values) stand for.
    torch::Tensor decode(const torch::Tensor& bytes, int64_t n) const;

private:
    config::GradientAllreduce encoding_;
};

}  // namespace lowbit::dist
