// Packed weights and layers against the fake-quantized weights they came from
// (docs/efficientqat.md §Packed layout): pack -> unpack -> dequantize equals the quantizer's Ŵ
// bit for bit for bits 2, 3, 4, 8 and groups 32, 64, 128, including all-positive groups; the
// packed layer's product equals the dense product with Ŵ within 1e-4; a damaged packed weight is
// refused with its tensor named; the stored size matches N + (N + 16)/G bits per weight.
#include "lowbit/qat/packed_weight.h"

#include "lowbit/qat/packed_linear.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace lowbit::qat {
namespace {

// A weight (out, in) with some all-positive and all-negative groups and a quantizer moved away
// from its initial values, as Block-AP leaves it (not yet finalized).
struct TrainedCase {
    torch::Tensor weight;
    GroupQuantizer quantizer;
};

TrainedCase trained_case(int bits, int64_t group, uint64_t seed) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
    const int64_t out = 45;  // not a multiple of any word's code count
    const int64_t in = 384;
    torch::Tensor w = torch::randn({out, in}, gen) * 0.04;
    w.slice(0, 0, 3).abs_().add_(0.05);         // rows 0-2: every group all positive, well above 0
    w.slice(0, 3, 5).abs_().neg_().sub_(0.01);  // rows 3-4: all negative
    GroupQuantizer q(w, {.bits = bits, .group_size = group});
    q.step().mul_(0.8 + 0.4 * torch::rand(q.step().sizes(), gen));
    // Rows 5 on: zero points moved by -1, 0 or +1; the all-positive rows keep their negative ones.
    q.zero_point().slice(0, 5).add_(torch::randint(-1, 2, q.zero_point().slice(0, 5).sizes(), gen));
    return {w, q};
}

TEST(PackedWeightTest, UnpackedAndDequantizedEqualsTheFakeQuantizedWeightBitForBit) {
    for (const int bits : {2, 3, 4, 8}) {
        for (const int64_t group : {32, 64, 128}) {
            TrainedCase c = trained_case(bits, group, 31 * bits + group);
            // All-positive groups start with a negative zero point, which is used as 0.
            const torch::Tensor negative = c.quantizer.zero_point().slice(0, 0, 3) < 0;
            ASSERT_TRUE(negative.any().item<bool>());
            c.quantizer.finalize();
            const PackedWeight packed = pack_weight(c.weight, c.quantizer);
            check_packed_weight(packed, "case");
            EXPECT_TRUE(torch::equal(unpack_codes(packed), c.quantizer.codes(c.weight)));
            EXPECT_TRUE(
                torch::equal(unpack_zero_points(packed), c.quantizer.effective_zero_point()));
            EXPECT_TRUE(torch::equal(dequantize(packed), c.quantizer.fake_quantize(c.weight)))
                << bits << " bits, g" << group;
            // ... and packed as 0.
            EXPECT_EQ(
                unpack_zero_points(packed).slice(0, 0, 3).masked_select(negative).max().item<int>(),
                0);
            EXPECT_TRUE(torch::equal(
                packed.g_idx,
                torch::arange(384, torch::kInt32).div(group, "floor").to(torch::kInt32)));
        }
    }
}

TEST(PackedWeightTest, ThePackedLayerComputesTheFakeQuantizedProduct) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(9);
    for (const int bits : {2, 3, 4, 8}) {
        TrainedCase c = trained_case(bits, 64, 400 + bits);
        c.quantizer.finalize();
        const torch::Tensor bias = torch::randn({45}, gen);
        PackedLinear layer(pack_weight(c.weight, c.quantizer));
        const torch::Tensor x = torch::randn({3, 7, 384}, gen);
        torch::NoGradGuard no_grad;
        const torch::Tensor packed = layer.forward(x, c.weight, bias);
        const torch::Tensor dense =
            torch::nn::functional::linear(x, c.quantizer.fake_quantize(c.weight), bias);
        EXPECT_EQ(packed.sizes(), dense.sizes());
        EXPECT_LT((packed - dense).abs().max().item<float>(), 1e-4) << bits << " bits";
    }
}

TEST(PackedWeightTest, StoredBytesFollowBitsPlusZeroAndStepPerGroup) {
    // Codes, zero points and fp16 steps: N + (N + 16)/G bits per weight for 2, 4 and 8 bits (words
    // divide the widths exactly), plus g_idx (32 bits per input column). 3 bits store 3.2 bits.
    for (const int bits : {2, 4, 8}) {
        const int64_t out = 256;
        const int64_t in = 512;
        const int64_t group = 64;
        const torch::Tensor w = torch::randn({out, in});
        GroupQuantizer q(w, {.bits = bits, .group_size = group});
        q.finalize();
        const PackedWeight p = pack_weight(w, q);
        const double expected_bits = (bits + (bits + 16.0) / group) * out * in + 32.0 * in;
        EXPECT_DOUBLE_EQ(static_cast<double>(p.stored_bytes()) * 8.0, expected_bits) << bits;
    }
}

TEST(PackedWeightTest, ADamagedPackedWeightIsRefusedWithTheTensorNamed) {
    TrainedCase c = trained_case(4, 128, 1);
    c.quantizer.finalize();
    PackedWeight p = pack_weight(c.weight, c.quantizer);
    p.qweight = p.qweight.slice(0, 0, p.qweight.size(0) - 1);  // a truncated file's tensor
    try {
        check_packed_weight(p, "blocks.0.attn.q");
        FAIL() << "a truncated qweight was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("blocks.0.attn.q: qweight is (47, 45)"),
                  std::string::npos)
            << e.what();
    }
    p = pack_weight(c.weight, c.quantizer);
    p.scales = p.scales.to(torch::kFloat32);
    EXPECT_THROW(check_packed_weight(p, "layer"), std::invalid_argument);
    EXPECT_THROW(PackedLinear{p}, std::invalid_argument);
}

}  // namespace
}  // namespace lowbit::qat
