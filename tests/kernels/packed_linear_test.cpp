// The packed weight layout and product (docs/efficientqat.md §Packed layout): hand-worked words,
// pack/unpack round trips for every bit width (3-bit words hold 10 codes and 2 unused bits), the
// reference product against a dense product of the dequantized weight computed here, and the
// CPU path against the reference.
#include "lowbit/kernels/packed_linear.h"

#include "lowbit/kernels/quant_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace lowbit::kernels {
namespace {

TEST(PackedLinearTest, CodesArePackedLeastSignificantFirstAlongTheRows) {
    // 4 bits, one column: codes 1..8 -> 0x87654321.
    const std::vector<std::uint8_t> codes = {1, 2, 3, 4, 5, 6, 7, 8};
    std::uint32_t word = 0;
    ASSERT_EQ(pack_codes_along_rows(codes.data(), 8, 1, 4, &word), Status::kOk);
    EXPECT_EQ(word, 0x87654321U);
    // 2 bits: 3, 0, 1, 2 -> 3 | 1 << 4 | 2 << 6 = 147, the other 12 codes 0.
    const std::vector<std::uint8_t> two = {3, 0, 1, 2};
    ASSERT_EQ(pack_codes_along_rows(two.data(), 4, 1, 2, &word), Status::kOk);
    EXPECT_EQ(word, 147U);
    // 3 bits: 10 sevens fill bits 0..29, bits 30 and 31 stay 0.
    const std::vector<std::uint8_t> sevens(10, 7);
    ASSERT_EQ(pack_codes_along_rows(sevens.data(), 10, 1, 3, &word), Status::kOk);
    EXPECT_EQ(word, 0x3FFFFFFFU);
}

TEST(PackedLinearTest, ZeroPointsArePackedAlongTheColumns) {
    // One row of 5 zero points at 8 bits: words hold 4 each, the second word only the 5th.
    const std::vector<std::uint8_t> zeros = {1, 2, 3, 4, 5};
    std::uint32_t words[2] = {};
    ASSERT_EQ(pack_codes_along_cols(zeros.data(), 1, 5, 8, words), Status::kOk);
    EXPECT_EQ(words[0], 0x04030201U);
    EXPECT_EQ(words[1], 5U);
}

TEST(PackedLinearTest, PackingRefusesACodeThatDoesNotFit) {
    const std::vector<std::uint8_t> codes = {4};
    std::uint32_t word = 0;
    EXPECT_EQ(pack_codes_along_rows(codes.data(), 1, 1, 2, &word), Status::kBadArgument);
    EXPECT_EQ(pack_codes_along_rows(codes.data(), 1, 1, 5, &word), Status::kBadArgument);
}

TEST(PackedLinearTest, UnpackingInvertsPackingForEveryWidth) {
    std::mt19937 rng(7);
    for (const int bits : {2, 3, 4, 8}) {
        const std::int64_t rows = 37;  // not a multiple of any word's code count
        const std::int64_t cols = 13;
        std::uniform_int_distribution<int> code(0, (1 << bits) - 1);
        std::vector<std::uint8_t> codes(rows * cols);
        for (auto& c : codes) {
            c = static_cast<std::uint8_t>(code(rng));
        }
        const int k = packed_codes_per_word(bits);
        std::vector<std::uint32_t> by_rows(((rows + k - 1) / k) * cols);
        std::vector<std::uint32_t> by_cols(rows * ((cols + k - 1) / k));
        ASSERT_EQ(pack_codes_along_rows(codes.data(), rows, cols, bits, by_rows.data()),
                  Status::kOk);
        ASSERT_EQ(pack_codes_along_cols(codes.data(), rows, cols, bits, by_cols.data()),
                  Status::kOk);
        std::vector<std::uint8_t> back(codes.size());
        ASSERT_EQ(unpack_codes_along_rows(by_rows.data(), rows, cols, bits, back.data()),
                  Status::kOk);
        EXPECT_EQ(back, codes) << bits << " bits along rows";
        ASSERT_EQ(unpack_codes_along_cols(by_cols.data(), rows, cols, bits, back.data()),
                  Status::kOk);
        EXPECT_EQ(back, codes) << bits << " bits along columns";
    }
}

// A random packed weight with its codes, zero points and steps kept for an independent check.
struct PackedCase {
    int bits;
    std::int64_t in, out, group;
    std::vector<std::uint8_t> codes;  // (in, out)
    std::vector<std::uint8_t> zeros;  // (in/G, out)
    std::vector<float> scales;        // (in/G, out)
    std::vector<std::uint32_t> qweight, qzeros;

    PackedWeightView view() const {
        return {bits, in, out, group, qweight.data(), qzeros.data(), scales.data()};
    }
};

PackedCase make_case(
    int bits, std::int64_t in, std::int64_t out, std::int64_t group, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> code(0, (1 << bits) - 1);
    std::uniform_real_distribution<float> scale(0.001F, 0.05F);
    PackedCase c{bits, in, out, group, {}, {}, {}, {}, {}};
    c.codes.resize(in * out);
    c.zeros.resize(in / group * out);
    c.scales.resize(in / group * out);
    for (auto& v : c.codes) {
        v = static_cast<std::uint8_t>(code(rng));
    }
    for (auto& v : c.zeros) {
        v = static_cast<std::uint8_t>(code(rng));
    }
    for (auto& v : c.scales) {
        v = scale(rng);
    }
    const int k = packed_codes_per_word(bits);
    c.qweight.resize(((in + k - 1) / k) * out);
    c.qzeros.resize(in / group * ((out + k - 1) / k));
    EXPECT_EQ(pack_codes_along_rows(c.codes.data(), in, out, bits, c.qweight.data()), Status::kOk);
    EXPECT_EQ(pack_codes_along_cols(c.zeros.data(), in / group, out, bits, c.qzeros.data()),
              Status::kOk);
    return c;
}

TEST(PackedLinearTest, DequantizationIsCodeMinusZeroTimesStep) {
    const PackedCase c = make_case(3, 64, 7, 32, 3);
    std::vector<float> w(c.out * c.in);
    ASSERT_EQ(packed_dequantize_ref(c.view(), w.data()), Status::kOk);
    for (std::int64_t o = 0; o < c.out; ++o) {
        for (std::int64_t i = 0; i < c.in; ++i) {
            const std::int64_t g = i / c.group;
            const float expected = (static_cast<float>(c.codes[i * c.out + o]) -
                                    static_cast<float>(c.zeros[g * c.out + o])) *
                                   c.scales[g * c.out + o];
            ASSERT_EQ(w[o * c.in + i], expected) << o << ", " << i;
        }
    }
}

TEST(PackedLinearTest, ReferenceAndCpuProductsMatchTheDenseProduct) {
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0F, 1.0F);
    for (const int bits : {2, 3, 4, 8}) {
        // 200 outputs: three full tiles of 64 and a tail of 8.
        const PackedCase c = make_case(bits, 256, 200, 64, 100 + bits);
        std::vector<float> w(c.out * c.in);
        ASSERT_EQ(packed_dequantize_ref(c.view(), w.data()), Status::kOk);
        std::vector<float> bias(c.out);
        for (auto& b : bias) {
            b = normal(rng);
        }
        for (const std::int64_t batch : {1, 5, 17}) {
            std::vector<float> x(batch * c.in);
            for (auto& v : x) {
                v = normal(rng);
            }
            std::vector<float> y_ref(batch * c.out);
            std::vector<float> y_cpu(batch * c.out);
            ASSERT_EQ(packed_linear_ref(x.data(), batch, c.view(), bias.data(), y_ref.data()),
                      Status::kOk);
            ASSERT_EQ(packed_linear_cpu(x.data(), batch, c.view(), bias.data(), y_cpu.data(), 2),
                      Status::kOk);
            for (std::int64_t b = 0; b < batch; ++b) {
                for (std::int64_t o = 0; o < c.out; ++o) {
                    double dense = bias[o];
                    double magnitude = std::abs(bias[o]);
                    for (std::int64_t i = 0; i < c.in; ++i) {
                        dense += static_cast<double>(x[b * c.in + i]) * w[o * c.in + i];
                        magnitude +=
                            std::abs(static_cast<double>(x[b * c.in + i]) * w[o * c.in + i]);
                    }
                    // fp32 sums of 256 terms in different orders: within 1e-5 of their magnitude.
                    const double tolerance = 1e-5 * magnitude + 1e-6;
                    ASSERT_NEAR(y_ref[b * c.out + o], dense, tolerance) << bits << " bits";
                    ASSERT_NEAR(y_cpu[b * c.out + o], dense, tolerance) << bits << " bits";
                }
            }
        }
    }
}

TEST(PackedLinearTest, RefusesAGroupThatDoesNotDivideTheInput) {
    PackedCase c = make_case(4, 64, 8, 32, 5);
    PackedWeightView v = c.view();
    v.group_size = 48;
    std::vector<float> x(64), y(8);
    EXPECT_EQ(packed_linear_cpu(x.data(), 1, v, nullptr, y.data(), 1), Status::kBadShape);
    v = c.view();
    v.bits = 5;
    EXPECT_EQ(packed_linear_ref(x.data(), 1, v, nullptr, y.data()), Status::kBadArgument);
}

}  // namespace
}  // namespace lowbit::kernels
