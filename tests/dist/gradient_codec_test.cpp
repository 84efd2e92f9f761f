// GradientCodec against hand-worked encodings: bf16 rounds to nearest, ties to even; int8 codes
// round(x / s) with s = max|x| / 127 per block of 512, ties to even; zero blocks; non-finite
// values kept non-finite; the byte counts; and the rounding error bound |x - x̂| <= s / 2.
#include "lowbit/dist/gradient_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace lowbit::dist {
namespace {

using config::GradientAllreduce;

torch::Tensor round_trip(const GradientCodec& codec, const torch::Tensor& values) {
    torch::Tensor bytes = torch::empty({codec.encoded_bytes(values.numel())}, torch::kUInt8);
    codec.encode(values, bytes);
    return codec.decode(bytes, values.numel());
}

TEST(GradientCodec, Bf16RoundsToNearestWithTiesToEven) {
    const GradientCodec codec(GradientAllreduce::kBf16);
    EXPECT_EQ(codec.block_elements(), 1);
    EXPECT_EQ(codec.encoded_bytes(5), 10);
    // bf16 keeps 7 fraction bits: near 1 its step is 2^-7. 1 + 2^-8 lies half-way between 1
    // (even) and 1 + 2^-7 (odd): to 1. 1 + 3·2^-8 lies between 1 + 2^-7 (odd) and 1 + 2^-6
    // (even): to 1 + 2^-6. 1 + 2^-8 + 2^-12 is above half-way: to 1 + 2^-7.
    const float q = std::ldexp(1.0f, -8);
    const torch::Tensor values =
        torch::tensor({1.0f, 1.0f + q, 1.0f + 3 * q, 1.0f + q + std::ldexp(1.0f, -12), -2.0f});
    const torch::Tensor expected = torch::tensor({1.0f, 1.0f, 1.0f + 4 * q, 1.0f + 2 * q, -2.0f});
    EXPECT_TRUE(torch::equal(round_trip(codec, values), expected));
}

TEST(GradientCodec, Int8CodesEachBlockAgainstItsOwnScale) {
    const GradientCodec codec(GradientAllreduce::kInt8);
    EXPECT_EQ(codec.block_elements(), 512);
    EXPECT_EQ(codec.encoded_bytes(1024), 1024 + 2 * 4);
    torch::Tensor values = torch::zeros({3 * 512});
    // Block 0: max |x| = 127, so s = 1 and codes are x rounded half to even.
    values[0] = 127.0f;
    values[1] = 2.5f;   // -> 2
    values[2] = 3.5f;   // -> 4
    values[3] = -2.5f;  // -> -2
    values[4] = 0.4f;   // -> 0
    // Block 1 stays zero: scale 0, codes 0.
    // Block 2: max |x| = 254, s = 2: 3 / 2 = 1.5 -> 2 -> 4; -5 / 2 = -2.5 -> -2 -> -4.
    values[1024] = -254.0f;
    values[1025] = 3.0f;
    values[1026] = -5.0f;
    torch::Tensor expected = torch::zeros({3 * 512});
    expected[0] = 127.0f;
    expected[1] = 2.0f;
    expected[2] = 4.0f;
    expected[3] = -2.0f;
    expected[1024] = -254.0f;
    expected[1025] = 4.0f;
    expected[1026] = -4.0f;
    EXPECT_TRUE(torch::equal(round_trip(codec, values), expected));
}

TEST(GradientCodec, Int8ErrorIsAtMostHalfAScalePerBlock) {
    const GradientCodec codec(GradientAllreduce::kInt8);
    torch::manual_seed(3);
    // Blocks of very different magnitudes, as the gradients of different parameters.
    const torch::Tensor values =
        torch::randn({8, 512}) * torch::logspace(-6, 1, 8).unsqueeze(1);  // (8, 512)
    const torch::Tensor decoded = round_trip(codec, values.reshape({-1})).view({8, 512});
    const torch::Tensor half_scale = values.abs().amax(1, true) / 127 / 2;  // (8, 1)
    // The float32 roundings of x / s (at most 127·2^-24 of s) and of code · s (at most
    // 127·2^-24 of s) on top of the half step: 3.1e-5 of s / 2.
    EXPECT_TRUE((decoded - values).abs().le(half_scale * (1 + 1e-4)).all().item<bool>());
}

TEST(GradientCodec, NonFiniteValuesDecodeNonFinite) {
    const float inf = std::numeric_limits<float>::infinity();
    for (const float bad : {inf, -inf, std::numeric_limits<float>::quiet_NaN()}) {
        for (const auto encoding : {GradientAllreduce::kBf16, GradientAllreduce::kInt8}) {
            const GradientCodec codec(encoding);
            // 127 is exact in both encodings (int8: scale 1, code 127).
            torch::Tensor values = torch::full({1024}, 127.0f);
            values[700] = bad;
            const torch::Tensor decoded = round_trip(codec, values);
            EXPECT_FALSE(decoded.isfinite().all().item<bool>()) << bad;
            // The other block is untouched.
            EXPECT_TRUE(torch::equal(decoded.narrow(0, 0, 512), torch::full({512}, 127.0f)));
        }
    }
}

TEST(GradientCodec, Fp32IsNotAnEncoding) {
    EXPECT_THROW(GradientCodec(GradientAllreduce::kFp32), std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::dist
