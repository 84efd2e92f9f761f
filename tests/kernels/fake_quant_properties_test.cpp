// Property tests of the fake quantizer (through fake_quant_cpu_parallel, which the sweep proves
// equal to the reference): symmetric never clips, level counts, code ranges, idempotence and
// unbiased stochastic rounding.
#include "lowbit/kernels/fake_quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "kernels_test_util.h"

namespace lowbit::kernels {
namespace {

constexpr std::int64_t kRows = 16;
constexpr std::int64_t kCols = 256;

FakeQuantParams per_row(int bits, bool symmetric, QuantGrid grid) {
    FakeQuantParams p;
    p.bits = bits;
    p.symmetric = symmetric;
    p.grid = grid;
    p.granularity = Granularity::kPerChannel;
    return p;
}

TEST(FakeQuantProperties, SymmetricNeverClips) {
    // Nothing is clipped, so every error is at most half a step (plus float32 rounding of x/s).
    const std::vector<float> x = test::random_normal(kRows * kCols, 11);
    for (int bits : {2, 4, 8}) {
        const FakeQuantParams p = per_row(bits, true, QuantGrid::kReference);
        std::vector<float> out(x.size()), s(kRows);
        ASSERT_EQ(fake_quant_cpu_parallel(x.data(), kRows, kCols, p, out.data(), s.data(), nullptr),
                  Status::kOk);
        for (std::int64_t i = 0; i < kRows * kCols; ++i) {
            const float step = s[static_cast<std::size_t>(i / kCols)];
            ASSERT_LE(std::fabs(out[i] - x[i]), 0.5f * step * (1.0f + 1e-5f)) << bits << " " << i;
        }
    }
}

TEST(FakeQuantProperties, LevelsPerGroupAndCodeRanges) {
    const std::vector<float> x = test::random_normal(kRows * kCols, 12, 3.0f);
    for (int bits : {2, 3, 4, 8}) {
        for (bool sym : {true, false}) {
            for (QuantGrid grid : {QuantGrid::kReference, QuantGrid::kFull}) {
                const FakeQuantParams p = per_row(bits, sym, grid);
                std::vector<float> out(x.size());
                ASSERT_EQ(fake_quant_cpu_parallel(
                              x.data(), kRows, kCols, p, out.data(), nullptr, nullptr),
                          Status::kOk);
                // Symmetric: 2^b - 1 levels (code -2^(b-1) unused). Asymmetric: at most 2^b.
                const std::size_t max_levels = (std::size_t{1} << bits) - (sym ? 1 : 0);
                for (std::int64_t r = 0; r < kRows; ++r) {
                    const std::set<float> levels(out.begin() + r * kCols,
                                                 out.begin() + (r + 1) * kCols);
                    EXPECT_LE(levels.size(), max_levels) << bits << " " << sym;
                }
                if (grid == QuantGrid::kFull && !sym && bits == 8) {
                    continue;  // codes 0..255 do not fit int8 (kNoKernelForConfig)
                }
                std::vector<std::int8_t> codes(x.size());
                std::vector<float> s(kRows), z(kRows);
                ASSERT_EQ(fake_quant_codes_ref(
                              x.data(), kRows, kCols, p, codes.data(), s.data(), z.data()),
                          Status::kOk);
                const bool unsigned_codes = grid == QuantGrid::kFull && !sym;
                const int lo = unsigned_codes ? 0 : -(1 << (bits - 1)) + (sym ? 1 : 0);
                const int hi = unsigned_codes ? (1 << bits) - 1 : (1 << (bits - 1)) - 1;
                for (std::size_t i = 0; i < codes.size(); ++i) {
                    ASSERT_GE(codes[i], lo);
                    ASSERT_LE(codes[i], hi);
                    // Codes dequantize to exactly the fake-quant output (as values: an int8 code
                    // has no -0, so the sign of a zero output is not recoverable).
                    const std::size_t g = i / static_cast<std::size_t>(kCols);
                    const float q = static_cast<float>(codes[i]);
                    const float deq = sym              ? q * s[g]
                                      : unsigned_codes ? (q - z[g]) * s[g]
                                                       : (q + z[g]) * s[g];
                    ASSERT_EQ(deq, out[i]) << i;
                }
            }
        }
    }
}

TEST(FakeQuantProperties, SymmetricIdempotent) {
    // Q(Q(x)): the absmax element comes back as Qp*s, so the new scale is fl(fl(Qp*s)/Qp). That
    // equals s for most s but not all (about 10% of random s at Qp = 7 are off by one ulp), so:
    // the codes never change, Q(Q(x)) == Q(x) exactly whenever the scale is reproduced, and
    // otherwise each value moves by at most |q| * |s' - s|.
    const std::vector<float> x = test::random_normal(kRows * kCols, 13);
    for (int bits : {2, 4, 8}) {
        const FakeQuantParams p = per_row(bits, true, QuantGrid::kReference);
        std::vector<float> q1(x.size()), q2(x.size()), s1(kRows), s2(kRows);
        ASSERT_EQ(fake_quant_cpu_parallel(x.data(), kRows, kCols, p, q1.data(), s1.data(), nullptr),
                  Status::kOk);
        ASSERT_EQ(
            fake_quant_cpu_parallel(q1.data(), kRows, kCols, p, q2.data(), s2.data(), nullptr),
            Status::kOk);
        int exact_rows = 0;
        for (std::int64_t r = 0; r < kRows; ++r) {
            const auto rs = static_cast<std::size_t>(r);
            for (std::int64_t c = 0; c < kCols; ++c) {
                const auto i = static_cast<std::size_t>(r * kCols + c);
                const float code1 = std::nearbyint(q1[i] / s1[rs]);
                const float code2 = std::nearbyint(q2[i] / s2[rs]);
                ASSERT_EQ(code1, code2) << "row " << r;
                if (s1[rs] == s2[rs]) {
                    ASSERT_EQ(q1[i], q2[i]) << "row " << r;
                } else {
                    ASSERT_LE(std::fabs(q1[i] - q2[i]),
                              std::fabs(code1) * std::fabs(s1[rs] - s2[rs]) * 1.0001f);
                }
            }
            exact_rows += s1[rs] == s2[rs] ? 1 : 0;
        }
        EXPECT_GT(exact_rows, 0);
    }
}

TEST(FakeQuantProperties, StochasticRoundingIsUnbiased) {
    // One row: 1.0 fixes absmax (s = 1/127 at 8 bits), then N copies of 0.3. Each copy rounds to
    // one of the two neighbouring levels with u from its own index; the mean of N outputs
    // estimates E[x^] = x with standard deviation <= s / (2 sqrt(N)). Allow 5 sigma.
    constexpr std::int64_t kN = 200000;
    std::vector<float> x(kN + 1, 0.3f);
    x[0] = 1.0f;
    FakeQuantParams p = per_row(8, true, QuantGrid::kReference);
    p.rounding = Rounding::kStochastic;
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        p.seed = seed;
        std::vector<float> out(x.size());
        float s = 0.0f;
        ASSERT_EQ(fake_quant_cpu_parallel(x.data(), 1, kN + 1, p, out.data(), &s, nullptr),
                  Status::kOk);
        double mean = 0.0;
        for (std::int64_t i = 1; i <= kN; ++i) {
            mean += out[static_cast<std::size_t>(i)];
            const float lower = std::floor(0.3f / s) * s;
            ASSERT_TRUE(out[static_cast<std::size_t>(i)] == lower ||
                        out[static_cast<std::size_t>(i)] == (std::floor(0.3f / s) + 1.0f) * s);
        }
        mean /= kN;
        const double sigma = s / (2.0 * std::sqrt(static_cast<double>(kN)));
        EXPECT_NEAR(mean, 0.3, 5.0 * sigma) << "seed " << seed;
    }
}

TEST(FakeQuantProperties, StochasticDependsOnlyOnSeedAndIndex) {
    const std::vector<float> x = test::random_normal(kRows * kCols, 14);
    FakeQuantParams p = per_row(4, false, QuantGrid::kFull);
    p.rounding = Rounding::kStochastic;
    p.seed = 42;
    std::vector<float> a(x.size()), b(x.size()), c(x.size());
    ASSERT_EQ(fake_quant_cpu_parallel(x.data(), kRows, kCols, p, a.data(), nullptr, nullptr, 1),
              Status::kOk);
    ASSERT_EQ(fake_quant_cpu_parallel(x.data(), kRows, kCols, p, b.data(), nullptr, nullptr, 4),
              Status::kOk);
    EXPECT_TRUE(test::bits_equal(a, b));
    p.seed = 43;
    ASSERT_EQ(fake_quant_cpu_parallel(x.data(), kRows, kCols, p, c.data(), nullptr, nullptr),
              Status::kOk);
    EXPECT_FALSE(test::bits_equal(a, c));
}

}  // namespace
}  // namespace lowbit::kernels
