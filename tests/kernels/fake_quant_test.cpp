// Tests of fake_quant_ref against values worked out by hand (docs/quantized-pretraining.md §Linear
// quantization, both grids), and of fake_quant_cpu_parallel against the reference, bit for bit,
// over a sweep of bits, grids, granularities, rounding modes, shapes and thread counts.
#include "lowbit/kernels/fake_quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels_test_util.h"

namespace lowbit::kernels {
namespace {

FakeQuantParams make_params(int bits, bool symmetric, QuantGrid grid, Granularity gran) {
    FakeQuantParams p;
    p.bits = bits;
    p.symmetric = symmetric;
    p.grid = grid;
    p.granularity = gran;
    return p;
}

TEST(FakeQuantRef, SymmetricFourBitsByHand) {
    // absmax = 3.5, Qp = 7 -> s = 0.5. x/s = {3.5, -7, 0.5, 1.75}; round half to even gives
    // {4, -7, 0, 2}; x^ = q*s = {2, -3.5, 0, 1}. (3.5 -> 4 and 0.5 -> 0: ties go to even.)
    const std::vector<float> x = {1.75f, -3.5f, 0.25f, 0.875f};
    std::vector<float> out(4);
    float s = 0.0f;
    float z = -1.0f;
    const auto p = make_params(4, true, QuantGrid::kReference, Granularity::kPerTensor);
    ASSERT_EQ(fake_quant_ref(x.data(), 1, 4, p, out.data(), &s, &z), Status::kOk);
    EXPECT_EQ(s, 0.5f);
    EXPECT_EQ(z, 0.0f);
    EXPECT_EQ(out, (std::vector<float>{2.0f, -3.5f, 0.0f, 1.0f}));
}

TEST(FakeQuantRef, AsymmetricReferenceGridPerRowByHand) {
    // Row 0 {-1, 0, 2.5, 6}: range 7, 2*Qp = 14 -> s = 0.5; z = round(-1/0.5 + 8) = 6.
    //   x/s - z = {-8, -6, -1, 6} -> x^ = (q + 6)*0.5 = {-1, 0, 2.5, 6}. max maps to Qp - 1 = 6.
    // Row 1 {0, 0.75, 1.25, 7}: s = 0.5, z = round(0 + 8) = 8.
    //   x/s - z = {-8, -6.5, -5.5, 6} -> ties to even {-8, -6, -6, 6} -> x^ = {0, 1, 1, 7}.
    const std::vector<float> x = {-1.0f, 0.0f, 2.5f, 6.0f, 0.0f, 0.75f, 1.25f, 7.0f};
    std::vector<float> out(8);
    std::vector<float> s(2);
    std::vector<float> z(2);
    const auto p = make_params(4, false, QuantGrid::kReference, Granularity::kPerChannel);
    ASSERT_EQ(fake_quant_ref(x.data(), 2, 4, p, out.data(), s.data(), z.data()), Status::kOk);
    EXPECT_EQ(s, (std::vector<float>{0.5f, 0.5f}));
    EXPECT_EQ(z, (std::vector<float>{6.0f, 8.0f}));
    EXPECT_EQ(out, (std::vector<float>{-1.0f, 0.0f, 2.5f, 6.0f, 0.0f, 1.0f, 1.0f, 7.0f}));

    std::vector<std::int8_t> codes(8);
    ASSERT_EQ(fake_quant_codes_ref(x.data(), 2, 4, p, codes.data(), s.data(), z.data()),
              Status::kOk);
    EXPECT_EQ(codes, (std::vector<std::int8_t>{-8, -6, -1, 6, -8, -6, -6, 6}));
}

TEST(FakeQuantRef, AsymmetricFullGridTwoBitsByHand) {
    // 2 bits, full grid: 3 steps. {-1, 0, 0.5, 2}: s = 3/3 = 1, zp = round(1/1) = 1;
    // q = round(clamp(x + 1, 0, 3)) = {0, 1, 2 (1.5 ties to even), 3}; x^ = (q - 1)*1.
    const std::vector<float> x = {-1.0f, 0.0f, 0.5f, 2.0f};
    std::vector<float> out(4);
    float s = 0.0f;
    float zp = 0.0f;
    const auto p = make_params(2, false, QuantGrid::kFull, Granularity::kPerTensor);
    ASSERT_EQ(fake_quant_ref(x.data(), 1, 4, p, out.data(), &s, &zp), Status::kOk);
    EXPECT_EQ(s, 1.0f);
    EXPECT_EQ(zp, 1.0f);
    EXPECT_EQ(out, (std::vector<float>{-1.0f, 0.0f, 1.0f, 2.0f}));
    std::vector<std::int8_t> codes(4);
    ASSERT_EQ(fake_quant_codes_ref(x.data(), 1, 4, p, codes.data(), &s, &zp), Status::kOk);
    EXPECT_EQ(codes, (std::vector<std::int8_t>{0, 1, 2, 3}));
}

TEST(FakeQuantRef, PerGroupUsesOneScalePerGroup) {
    // Two groups of 2 in one row, 8-bit symmetric (Qp = 127), absmax values chosen so that both
    // scales are powers of two and every step below is exact in float32:
    //   group 0 {-1.984375, 0.5078125}: absmax 1.984375 = 127/64 -> s0 = 1/64;
    //     x/s0 = {-127, 32.5} -> round half to even {-127, 32} -> x^ = {-1.984375, 0.5}.
    //   group 1 {0.49609375, 0.013671875}: absmax 0.49609375 = 127/256 -> s1 = 1/256;
    //     x/s1 = {127, 3.5} -> {127, 4} -> x^ = {0.49609375, 0.015625}.
    // One scale for the row (s = 1/64) would give group 1 {0.5, 0.015625} instead.
    const std::vector<float> x = {-1.984375f, 0.5078125f, 0.49609375f, 0.013671875f};
    std::vector<float> out(4);
    std::vector<float> s(2);
    auto p = make_params(8, true, QuantGrid::kReference, Granularity::kPerGroup);
    p.group_size = 2;
    ASSERT_EQ(fake_quant_ref(x.data(), 1, 4, p, out.data(), s.data(), nullptr), Status::kOk);
    EXPECT_EQ(s, (std::vector<float>{0.015625f, 0.00390625f}));
    EXPECT_EQ(out, (std::vector<float>{-1.984375f, 0.5f, 0.49609375f, 0.015625f}));
    std::vector<float> parallel(4);
    ASSERT_EQ(fake_quant_cpu_parallel(x.data(), 1, 4, p, parallel.data(), nullptr, nullptr),
              Status::kOk);
    EXPECT_EQ(parallel, out);
}

TEST(FakeQuantRef, MinRangeFloorsTheScale) {
    // All-zero rows: s = r_min / Qp, everything stays 0.
    const std::vector<float> x(6, 0.0f);
    std::vector<float> out(6, 1.0f);
    std::vector<float> s(2);
    auto p = make_params(8, true, QuantGrid::kReference, Granularity::kPerChannel);
    p.min_range = 1e-5f;
    ASSERT_EQ(fake_quant_ref(x.data(), 2, 3, p, out.data(), s.data(), nullptr), Status::kOk);
    EXPECT_EQ(s[0], 1e-5f / 127.0f);
    EXPECT_EQ(out, x);
}

TEST(FakeQuant, RejectsBadArguments) {
    const std::vector<float> x(12, 1.0f);
    std::vector<float> out(12);
    auto p = make_params(8, true, QuantGrid::kReference, Granularity::kPerGroup);
    p.group_size = 5;
    EXPECT_EQ(fake_quant_ref(x.data(), 3, 4, p, out.data(), nullptr, nullptr), Status::kBadShape);
    EXPECT_EQ(fake_quant_cpu_parallel(x.data(), 3, 4, p, out.data(), nullptr, nullptr),
              Status::kBadShape);
    p.group_size = 0;
    EXPECT_EQ(fake_quant_ref(x.data(), 3, 4, p, out.data(), nullptr, nullptr), Status::kBadShape);
    p = make_params(9, true, QuantGrid::kReference, Granularity::kPerTensor);
    EXPECT_EQ(fake_quant_ref(x.data(), 3, 4, p, out.data(), nullptr, nullptr),
              Status::kBadArgument);
    p.bits = 1;
    EXPECT_EQ(fake_quant_cpu_parallel(x.data(), 3, 4, p, out.data(), nullptr, nullptr),
              Status::kBadArgument);
    p.bits = 8;
    p.min_range = 0.0f;
    EXPECT_EQ(fake_quant_ref(x.data(), 3, 4, p, out.data(), nullptr, nullptr),
              Status::kBadArgument);
    p.min_range = 1e-5f;
    EXPECT_EQ(fake_quant_ref(x.data(), -3, 4, p, out.data(), nullptr, nullptr), Status::kBadShape);
    EXPECT_EQ(fake_quant_ref(nullptr, 3, 4, p, out.data(), nullptr, nullptr), Status::kBadArgument);
    EXPECT_EQ(fake_quant_cpu_parallel(x.data(), 3, 4, p, nullptr, nullptr, nullptr),
              Status::kBadArgument);
    EXPECT_EQ(fake_quant_ref(nullptr, 0, 4, p, nullptr, nullptr, nullptr), Status::kOk);
    std::vector<std::int8_t> codes(12);
    std::vector<float> s(1), z(1);
    p = make_params(8, false, QuantGrid::kFull, Granularity::kPerTensor);
    EXPECT_EQ(fake_quant_codes_ref(x.data(), 3, 4, p, codes.data(), s.data(), z.data()),
              Status::kNoKernelForConfig);
    EXPECT_EQ(fake_quant_num_groups(p, 3, 4), 1);
    p.granularity = Granularity::kPerGroup;
    p.group_size = 2;
    EXPECT_EQ(fake_quant_num_groups(p, 3, 4), 6);
    p.group_size = 3;
    EXPECT_EQ(fake_quant_num_groups(p, 3, 4), -1);
}

// The int8 codes kernel against fake_quant_codes_ref: rows and groups with NaN, ±Inf, signed
// zeros and subnormals (a NaN's code is 0; a row holding an Inf has an infinite scale), for
// 1 to 3 threads, codes equal and scales bit-identical, zero points written as +0.
TEST(FakeQuantCodesCpu, MatchesTheReferenceWithSpecialValues) {
    for (const Granularity g : {Granularity::kPerToken, Granularity::kPerGroup}) {
        for (const int bits : {2, 4, 8}) {
            auto p = make_params(bits, true, QuantGrid::kReference, g);
            p.group_size = 32;
            const std::int64_t rows = 37;
            const std::int64_t cols = 96 + 32;
            std::vector<float> x = test::random_normal(rows * cols, 5 + bits, 3.0f);
            test::add_special_values(x);
            const std::int64_t groups = fake_quant_num_groups(p, rows, cols);
            std::vector<std::int8_t> ref_codes(x.size());
            std::vector<float> ref_s(groups), ref_z(groups);
            ASSERT_EQ(fake_quant_codes_ref(
                          x.data(), rows, cols, p, ref_codes.data(), ref_s.data(), ref_z.data()),
                      Status::kOk);
            for (const int threads : {1, 2, 3}) {
                SCOPED_TRACE("bits " + std::to_string(bits) + " threads " +
                             std::to_string(threads));
                std::vector<std::int8_t> codes(x.size(), 99);
                std::vector<float> s(groups), z(groups, 5.0f);
                ASSERT_EQ(fake_quant_codes_cpu_parallel(
                              x.data(), rows, cols, p, codes.data(), s.data(), z.data(), threads),
                          Status::kOk);
                EXPECT_EQ(codes, ref_codes);
                EXPECT_TRUE(test::bits_equal(ref_s, s));
                EXPECT_TRUE(test::bits_equal(ref_z, z));
            }
        }
    }
}

// What the codes kernel does not take, it refuses (the caller then uses another path): groups
// longer than 16 Ki values, asymmetric or stochastic quantizers, codes beyond int8.
TEST(FakeQuantCodesCpu, RefusesWhatItDoesNotCover) {
    const std::vector<float> x(2 * 10000, 0.5f);
    std::vector<std::int8_t> codes(x.size());
    std::vector<float> s(2);
    auto p = make_params(8, true, QuantGrid::kReference, Granularity::kPerTensor);
    EXPECT_EQ(fake_quant_codes_cpu_parallel(x.data(), 2, 10000, p, codes.data(), s.data(), nullptr),
              Status::kNoKernelForConfig);  // one group of 20000 values
    p.granularity = Granularity::kPerChannel;
    EXPECT_EQ(fake_quant_codes_cpu_parallel(x.data(), 2, 10000, p, codes.data(), s.data(), nullptr),
              Status::kOk);
    p.rounding = Rounding::kStochastic;
    EXPECT_EQ(fake_quant_codes_cpu_parallel(x.data(), 2, 10000, p, codes.data(), s.data(), nullptr),
              Status::kNoKernelForConfig);
    p = make_params(8, false, QuantGrid::kReference, Granularity::kPerChannel);
    EXPECT_EQ(fake_quant_codes_cpu_parallel(x.data(), 2, 10000, p, codes.data(), s.data(), nullptr),
              Status::kNoKernelForConfig);
    p = make_params(8, true, QuantGrid::kReference, Granularity::kPerChannel);
    p.is_signed = false;
    EXPECT_EQ(fake_quant_codes_cpu_parallel(x.data(), 2, 10000, p, codes.data(), s.data(), nullptr),
              Status::kNoKernelForConfig);  // codes 0..255
}

struct Shape {
    std::int64_t rows;
    std::int64_t cols;
    std::int64_t group_size;
};

struct SweepCase {
    int bits;
    bool symmetric;
    QuantGrid grid;
    Granularity granularity;
    Rounding rounding;
};

std::string case_name(const SweepCase& c, const Shape& s) {
    return std::to_string(c.bits) + "b " + (c.symmetric ? "sym " : "asym ") +
           (c.grid == QuantGrid::kFull ? "full " : "reference ") +
           granularity_traits(c.granularity).name +
           (c.rounding == Rounding::kNearest ? " nearest " : " stochastic ") +
           std::to_string(s.rows) + "x" + std::to_string(s.cols) + " g" +
           std::to_string(s.group_size);
}

std::vector<SweepCase> sweep_cases() {
    std::vector<SweepCase> cases;
    for (int bits : {2, 3, 4, 8}) {
        for (bool sym : {true, false}) {
            for (QuantGrid grid : {QuantGrid::kReference, QuantGrid::kFull}) {
                for (Granularity gran :
                     {Granularity::kPerTensor, Granularity::kPerChannel, Granularity::kPerGroup}) {
                    for (Rounding r : {Rounding::kNearest, Rounding::kStochastic}) {
                        cases.push_back({bits, sym, grid, gran, r});
                    }
                }
            }
        }
    }
    return cases;
}

const std::vector<Shape> kSweepShapes = {
    {1, 1, 1}, {1, 7, 7}, {3, 5, 5}, {17, 96, 32}, {6, 64, 16}};

TEST(FakeQuantCpuParallel, MatchesReferenceBitForBit) {
    for (const Shape& shape : kSweepShapes) {
        std::vector<float> x = test::random_normal(shape.rows * shape.cols, 99);
        test::zero_every_third_row(x, shape.rows, shape.cols);
        for (const SweepCase& c : sweep_cases()) {
            FakeQuantParams p = make_params(c.bits, c.symmetric, c.grid, c.granularity);
            p.group_size = shape.group_size;
            p.rounding = c.rounding;
            p.seed = 77;
            const std::int64_t groups = fake_quant_num_groups(p, shape.rows, shape.cols);
            ASSERT_GT(groups, 0);
            const auto n = static_cast<std::size_t>(shape.rows * shape.cols);
            std::vector<float> ref(n), ref_s(groups), ref_z(groups);
            ASSERT_EQ(
                fake_quant_ref(
                    x.data(), shape.rows, shape.cols, p, ref.data(), ref_s.data(), ref_z.data()),
                Status::kOk);
            for (int threads : {1, 3}) {
                std::vector<float> out(n), s(groups), z(groups);
                ASSERT_EQ(fake_quant_cpu_parallel(x.data(),
                                                  shape.rows,
                                                  shape.cols,
                                                  p,
                                                  out.data(),
                                                  s.data(),
                                                  z.data(),
                                                  threads),
                          Status::kOk);
                const std::string name =
                    case_name(c, shape) + " threads " + std::to_string(threads);
                EXPECT_TRUE(test::bits_equal(ref, out)) << name;
                EXPECT_TRUE(test::bits_equal(ref_s, s)) << name;
                EXPECT_TRUE(test::bits_equal(ref_z, z)) << name;
            }
        }
    }
}

TEST(FakeQuantCpuParallel, LargeBufferAllGranularitiesAndInPlace) {
    // 977 x 1024 = 1000448 values: several blocks per per-tensor / per-row reduction.
    const std::int64_t rows = 977;
    const std::int64_t cols = 1024;
    std::vector<float> x = test::random_normal(rows * cols, 5);
    test::zero_every_third_row(x, rows, cols);
    for (Granularity gran :
         {Granularity::kPerTensor, Granularity::kPerChannel, Granularity::kPerGroup}) {
        for (bool sym : {true, false}) {
            FakeQuantParams p = make_params(4, sym, QuantGrid::kReference, gran);
            p.group_size = 128;
            std::vector<float> ref(x.size());
            ASSERT_EQ(fake_quant_ref(x.data(), rows, cols, p, ref.data(), nullptr, nullptr),
                      Status::kOk);
            std::vector<float> inplace = x;  // out aliases x
            ASSERT_EQ(fake_quant_cpu_parallel(
                          inplace.data(), rows, cols, p, inplace.data(), nullptr, nullptr, 2),
                      Status::kOk);
            EXPECT_TRUE(test::bits_equal(ref, inplace)) << static_cast<int>(gran) << " " << sym;
        }
    }
}

// The vector loops against the reference on shapes whose groups end in every tail length of a
// 4-, 8- and 16-lane vector, and on values where lane order could show: zeros of both signs at
// the extremes (a sequential scan keeps the first zero's sign), NaN first in a group (it poisons
// the scan) or first in a later block of a long group (the scan has skipped it), Inf, subnormals.
TEST(FakeQuantCpuParallel, VectorTailsAndSpecialValuesMatchReference) {
    std::mt19937 rng(2024);
    enum class Values { kNormal, kNonNegativeSignedZeros, kNonPositiveSignedZeros, kSpecials };
    auto make_values = [&](std::int64_t n, Values kind, std::uint32_t seed) {
        std::vector<float> x = test::random_normal(n, seed);
        std::bernoulli_distribution coin(0.1);
        for (float& v : x) {
            if (kind == Values::kNonNegativeSignedZeros) {
                v = coin(rng) ? (coin(rng) ? -0.0f : 0.0f) : std::fabs(v);
            } else if (kind == Values::kNonPositiveSignedZeros) {
                v = coin(rng) ? (coin(rng) ? -0.0f : 0.0f) : -std::fabs(v);
            }
        }
        if (kind == Values::kSpecials) {
            test::add_special_values(x);
        }
        return x;
    };

    struct Case {
        std::int64_t rows, cols, group_size;
    };

    std::vector<Case> shapes;
    for (std::int64_t cols = 1; cols <= 40; ++cols) {
        std::vector<std::int64_t> divisors;
        for (std::int64_t g = 1; g <= cols; ++g) {
            if (cols % g == 0) {
                divisors.push_back(g);
            }
        }
        shapes.push_back(
            {1 + static_cast<std::int64_t>(rng() % 4), cols, divisors[rng() % divisors.size()]});
    }
    // Long groups: per-tensor and per-row reductions over several 16 Ki blocks with a tail.
    shapes.push_back({3, (std::int64_t{1} << 14) + 17, 1});
    shapes.push_back({1, 3 * (std::int64_t{1} << 14) + 5, 1});
    for (const Case& shape : shapes) {
        const std::int64_t n = shape.rows * shape.cols;
        for (Values kind : {Values::kNormal,
                            Values::kNonNegativeSignedZeros,
                            Values::kNonPositiveSignedZeros,
                            Values::kSpecials}) {
            std::vector<float> x = make_values(n, kind, static_cast<std::uint32_t>(n));
            if (kind == Values::kNormal && shape.cols > (std::int64_t{1} << 14)) {
                // A NaN opening the second 16 Ki block of the first row, followed by that row's
                // (and the tensor's) unique extremes: lost if the block's scan is poisoned.
                const auto at = std::size_t{1} << 14;
                x[at] = std::numeric_limits<float>::quiet_NaN();
                x[at + 1] = 1e6f;
                x[at + 2] = -1e6f;
            }
            for (Granularity gran :
                 {Granularity::kPerTensor, Granularity::kPerChannel, Granularity::kPerGroup}) {
                for (bool sym : {true, false}) {
                    for (QuantGrid grid : {QuantGrid::kReference, QuantGrid::kFull}) {
                        FakeQuantParams p = make_params(4, sym, grid, gran);
                        p.group_size = shape.group_size;
                        const std::int64_t groups =
                            fake_quant_num_groups(p, shape.rows, shape.cols);
                        const auto size = static_cast<std::size_t>(n);
                        std::vector<float> ref(size), ref_s(groups), ref_z(groups);
                        ASSERT_EQ(fake_quant_ref(x.data(),
                                                 shape.rows,
                                                 shape.cols,
                                                 p,
                                                 ref.data(),
                                                 ref_s.data(),
                                                 ref_z.data()),
                                  Status::kOk);
                        for (int threads : {1, 2, 3}) {
                            std::vector<float> out(size), s(groups), z(groups);
                            ASSERT_EQ(fake_quant_cpu_parallel(x.data(),
                                                              shape.rows,
                                                              shape.cols,
                                                              p,
                                                              out.data(),
                                                              s.data(),
                                                              z.data(),
                                                              threads),
                                      Status::kOk);
                            const std::string name =
                                std::to_string(shape.rows) + "x" + std::to_string(shape.cols) +
                                " g" + std::to_string(shape.group_size) + " values " +
                                std::to_string(static_cast<int>(kind)) + " " +
                                granularity_traits(gran).name + (sym ? " sym" : " asym") +
                                (grid == QuantGrid::kFull ? " full" : " reference") + " threads " +
                                std::to_string(threads);
                            ASSERT_TRUE(test::bits_equal_or_both_nan(ref, out)) << name;
                            ASSERT_TRUE(test::bits_equal_or_both_nan(ref_s, s)) << name;
                            ASSERT_TRUE(test::bits_equal_or_both_nan(ref_z, z)) << name;
                        }
                    }
                }
            }
        }
    }
}

TEST(FakeQuantCpuParallel, ConstantRowAsymmetricUsesMinRange) {
    // range 0 -> s = r_min / (2*Qp); z is large but (q + z)*s still reproduces the constant.
    const std::vector<float> x(8, 5.0f);
    std::vector<float> ref(8), out(8);
    auto p = make_params(4, false, QuantGrid::kReference, Granularity::kPerChannel);
    ASSERT_EQ(fake_quant_ref(x.data(), 2, 4, p, ref.data(), nullptr, nullptr), Status::kOk);
    ASSERT_EQ(fake_quant_cpu_parallel(x.data(), 2, 4, p, out.data(), nullptr, nullptr),
              Status::kOk);
    EXPECT_TRUE(test::bits_equal(ref, out));
    EXPECT_NEAR(ref[0], 5.0f, 1e-3f);
}

}  // namespace
}  // namespace lowbit::kernels
