// The quantized-Adam step kernels: the CPU-parallel path against the scalar reference (bit for
// bit, awkward sizes, every granularity, 2..8 bits, symmetric/asymmetric, both grids, both
// second-moment mappings, float32 moments mixed in), the stored state against the fake quantizer
// applied to independently computed m_t and v_t, the packed layout by hand, and bad arguments.
#include "lowbit/kernels/quantized_adam.h"

#include "lowbit/kernels/fake_quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels_test_util.h"
#include "quantized_adam_test_util.h"

namespace lowbit::kernels {
namespace {

using test::AdamProblem;
using test::bits_equal;
using test::describe;
using test::format_sweep;
using test::state_format;

AdamStepScalars scalars_for_step(std::int64_t step) {
    // The reference code's AdamW settings (beta2 0.999, eps 1e-8, weight decay 0.1; see
    // docs/quantized-pretraining.md §Quantized AdamW) with a large lr so codes move every step.
    return adam_step_scalars(1e-2, 0.9, 0.999, 1e-8, 0.1, step);
}

// Runs `steps` steps on two copies of the problem, one through the reference and one through the
// CPU-parallel path, and expects every buffer to be bit-identical after each step.
void expect_cpu_matches_reference(AdamProblem problem, int threads, int steps) {
    AdamProblem expected = problem;
    for (int t = 1; t <= steps; ++t) {
        ASSERT_EQ(quantized_adam_step_ref(expected.args(scalars_for_step(t))), Status::kOk);
        ASSERT_EQ(quantized_adam_step_cpu_parallel(problem.args(scalars_for_step(t)), threads),
                  Status::kOk);
        ASSERT_TRUE(bits_equal(expected.param, problem.param))
            << describe(problem) << " step " << t << " threads " << threads;
        ASSERT_TRUE(expected.m == problem.m) << "m of " << describe(problem) << " step " << t;
        ASSERT_TRUE(expected.v == problem.v) << "v of " << describe(problem) << " step " << t;
    }
}

TEST(QuantizedAdamCpuParallel, MatchesReferenceBitForBitOnAwkwardShapes) {
    // (rows, cols): single element, odd lengths, blocks of 256 straddling rows (13 x 77 = 1001),
    // rows wider than a CPU tile (3 x 20000: the two-pass path).
    const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {
        {1, 1}, {1, 7}, {7, 1}, {13, 77}, {5, 300}, {3, 20000}};
    std::uint64_t seed = 100;
    for (const auto& [rows, cols] : shapes) {
        for (const StateQuantFormat& f : format_sweep()) {
            for (const auto mapping : {SecondMomentMapping::kLinear, SecondMomentMapping::kSqrt}) {
                expect_cpu_matches_reference(AdamProblem(rows, cols, f, f, mapping, ++seed), 3, 3);
            }
            AdamProblem tapped(rows, cols, f, f, SecondMomentMapping::kSqrt, ++seed);
            tapped.tap_moments();  // the unquantized outputs must match too
            expect_cpu_matches_reference(tapped, 2, 2);
            expect_cpu_matches_reference(
                AdamProblem(rows, cols, f, std::nullopt, SecondMomentMapping::kLinear, ++seed),
                2,
                2);
            expect_cpu_matches_reference(
                AdamProblem(rows, cols, std::nullopt, f, SecondMomentMapping::kSqrt, ++seed), 1, 2);
        }
        // m and v grouped differently: the two-pass path whatever the sizes.
        expect_cpu_matches_reference(
            AdamProblem(rows,
                        cols,
                        state_format(8, Granularity::kPerChannel),
                        state_format(4, Granularity::kPerBlock, false, QuantGrid::kFull, 5),
                        SecondMomentMapping::kLinear,
                        ++seed),
            4,
            3);
    }
}

TEST(QuantizedAdamCpuParallel, MatchesReferenceOnAMillionAndThreeValues) {
    using G = Granularity;
    const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {{1, 1000003}, {1000003, 1}};
    for (const auto& [rows, cols] : shapes) {
        expect_cpu_matches_reference(AdamProblem(rows,
                                                 cols,
                                                 state_format(8, G::kPerBlock),
                                                 state_format(8, G::kPerBlock),
                                                 SecondMomentMapping::kLinear,
                                                 7),
                                     4,
                                     2);
        expect_cpu_matches_reference(AdamProblem(rows,
                                                 cols,
                                                 state_format(4, G::kPerTensor),
                                                 state_format(3, G::kPerChannel, false),
                                                 SecondMomentMapping::kSqrt,
                                                 8),
                                     3,
                                     2);
    }
}

TEST(QuantizedAdamCpuParallel, ResultDoesNotDependOnThreadCount) {
    const StateQuantFormat f = state_format(4, Granularity::kPerTensor, false);
    AdamProblem one(257, 129, f, f, SecondMomentMapping::kSqrt, 42);
    AdamProblem many = one;
    ASSERT_EQ(quantized_adam_step_cpu_parallel(one.args(scalars_for_step(1)), 1), Status::kOk);
    ASSERT_EQ(quantized_adam_step_cpu_parallel(many.args(scalars_for_step(1)), 7), Status::kOk);
    EXPECT_TRUE(bits_equal(one.param, many.param));
    EXPECT_TRUE(one.m == many.m);
    EXPECT_TRUE(one.v == many.v);
}

// Equal as float32 values (NaN == NaN). The one difference from bit equality that is allowed:
// a stored zero is always +0, because an integer code carries no sign of zero, whereas
// fake_quant's q*s keeps -0 when x/s rounds to -0. Every later float operation treats them alike.
::testing::AssertionResult values_equal(const std::vector<float>& expected,
                                        const std::vector<float>& actual) {
    if (expected.size() != actual.size()) {
        return ::testing::AssertionFailure()
               << "size " << expected.size() << " vs " << actual.size();
    }
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const bool both_nan = std::isnan(expected[i]) && std::isnan(actual[i]);
        if (!(expected[i] == actual[i] || both_nan)) {
            return ::testing::AssertionFailure() << "first mismatch at index " << i << ": expected "
                                                 << expected[i] << " got " << actual[i];
        }
    }
    return ::testing::AssertionSuccess();
}

// Fake quantization of x group by group, each group through fake_quant_ref with the format's
// per-group parameters (an independent path: the kernels' own quantizer of fake_quant.h).
std::vector<float> fake_quant_groups(const std::vector<float>& x,
                                     std::int64_t rows,
                                     std::int64_t cols,
                                     const StateQuantFormat& f) {
    const StateQuantLayout layout = state_quant_layout(f, rows, cols);
    std::vector<float> out(x.size());
    for (std::int64_t g = 0; g < layout.num_groups; ++g) {
        const std::int64_t begin = g * layout.group_len;
        const std::int64_t len = std::min(layout.group_len, layout.n - begin);
        EXPECT_EQ(fake_quant_ref(x.data() + begin,
                                 1,
                                 len,
                                 state_group_fake_quant_params(f),
                                 out.data() + begin,
                                 nullptr,
                                 nullptr),
                  Status::kOk);
    }
    return out;
}

TEST(QuantizedAdamStep, StoresTheFakeQuantizedNewMomentsAndUpdatesFromUnquantizedOnes) {
    // 11 x 70 takes the CPU tile path for every format, 2 x 20000 the two-pass path for the
    // per-tensor and per-row ones; both must hand out exactly the m_t and v_t (sqrt(v_t)) they
    // quantize.
    for (const auto& [rows, cols] : {std::pair<std::int64_t, std::int64_t>{11, 70}, {2, 20000}}) {
        for (const StateQuantFormat& f : format_sweep()) {
            for (const auto mapping : {SecondMomentMapping::kLinear, SecondMomentMapping::kSqrt}) {
                AdamProblem p(rows, cols, f, f, mapping, 9);
                p.tap_moments();
                const std::int64_t n = p.rows * p.cols;
                const std::vector<float> m_old =
                    p.m.current(p.rows, p.cols, SecondMomentMapping::kLinear);
                const std::vector<float> v_old = p.v.current(p.rows, p.cols, mapping);
                const std::vector<float> p_old = p.param;
                const AdamStepScalars s = scalars_for_step(5);
                ASSERT_EQ(quantized_adam_step_cpu_parallel(p.args(s), 2), Status::kOk);

                // m_t, v_t and the parameter as docs/quantized-pretraining.md §Quantized AdamW
                // writes them, one float32 operation at a time.
                std::vector<float> m_t(n), v_t(n), root(n), p_t(n);
                for (std::int64_t i = 0; i < n; ++i) {
                    const float g = p.grad[i];
                    m_t[i] = s.beta1 * m_old[i] + s.one_minus_beta1 * g;
                    v_t[i] = s.beta2 * v_old[i] + s.one_minus_beta2 * (g * g);
                    root[i] = std::sqrt(v_t[i]);
                    const float denom = root[i] / s.bias_correction2_sqrt + s.eps;
                    p_t[i] = p_old[i] * s.decay_factor - s.step_size * (m_t[i] / denom);
                }
                EXPECT_TRUE(bits_equal(p_t, p.param)) << describe(p);
                EXPECT_TRUE(values_equal(fake_quant_groups(m_t, p.rows, p.cols, f),
                                         p.m.current(p.rows, p.cols, SecondMomentMapping::kLinear)))
                    << "m of " << describe(p);
                std::vector<float> v_hat;
                if (mapping == SecondMomentMapping::kSqrt) {
                    v_hat = fake_quant_groups(root, p.rows, p.cols, f);
                    for (float& x : v_hat) {
                        x = x * x;
                    }
                } else {
                    v_hat = fake_quant_groups(v_t, p.rows, p.cols, f);
                }
                EXPECT_TRUE(values_equal(v_hat, p.v.current(p.rows, p.cols, mapping)))
                    << "v of " << describe(p);
                EXPECT_TRUE(bits_equal(m_t, p.m.unquantized_out)) << "m_t out of " << describe(p);
                EXPECT_TRUE(bits_equal(mapping == SecondMomentMapping::kSqrt ? root : v_t,
                                       p.v.unquantized_out))
                    << "v_t out of " << describe(p);
            }
        }
    }
}

TEST(StateQuantize, PacksTwoFourBitCodesPerByteLowNibbleFirst) {
    // 4-bit symmetric per tensor, absmax 7: s = 7/7 = 1 exactly; codes round(x/s) = -7, 2.5 -> 2
    // (half to even), 7, stored as q - Qn = q + 8: 1, 10, 15.
    const std::vector<float> x = {-7.0f, 2.5f, 7.0f};
    const StateQuantFormat f = state_format(4, Granularity::kPerTensor);
    const StateQuantLayout layout = state_quant_layout(f, 1, 3);
    ASSERT_EQ(layout.code_bytes, 2);
    std::vector<std::uint8_t> codes(2, 0xFF);
    float scale = 0.0f;
    ASSERT_EQ(state_quantize_ref(
                  x.data(), 1, 3, f, SecondMomentMapping::kLinear, {codes.data(), &scale, nullptr}),
              Status::kOk);
    EXPECT_EQ(scale, 1.0f);
    EXPECT_EQ(codes[0], 1 | (10 << 4));
    EXPECT_EQ(codes[1], 15);  // the unused high nibble of an odd-length state is 0
    std::vector<float> back(3);
    ASSERT_EQ(
        state_dequantize_ref(
            {codes.data(), &scale, nullptr}, 1, 3, f, SecondMomentMapping::kLinear, back.data()),
        Status::kOk);
    EXPECT_EQ(back, (std::vector<float>{-7.0f, 2.0f, 7.0f}));
}

TEST(StateQuantize, SqrtMappingKeepsSmallSecondMomentsAwayFromZero) {
    // One row: a large v and values 1e-4 and 1e-6 of it. Linear 8-bit absmax: s = vmax/127, so
    // both small ones round to 0 (the zero-point problem, docs/quantized-pretraining.md
    // §Second-moment mapping). sqrt: sqrt(1e-4) = 1e-2 of the max is 1.27 steps -> code 1,
    // v^ = (s)^2 != 0.
    const std::vector<float> v = {1.0f, 1e-4f, 1e-6f, 0.0f};
    const StateQuantFormat f = state_format(8, Granularity::kPerChannel);
    std::vector<std::uint8_t> codes(4);
    float scale = 0.0f;
    std::vector<float> out(4);
    for (const auto mapping : {SecondMomentMapping::kLinear, SecondMomentMapping::kSqrt}) {
        ASSERT_EQ(state_quantize_ref(v.data(), 1, 4, f, mapping, {codes.data(), &scale, nullptr}),
                  Status::kOk);
        ASSERT_EQ(
            state_dequantize_ref({codes.data(), &scale, nullptr}, 1, 4, f, mapping, out.data()),
            Status::kOk);
        EXPECT_FLOAT_EQ(out[0], 1.0f);
        EXPECT_EQ(out[3], 0.0f);
        if (mapping == SecondMomentMapping::kLinear) {
            EXPECT_EQ(out[1], 0.0f);
        } else {
            const float step = 1.0f / 127.0f;
            EXPECT_EQ(out[1], step * step);
        }
    }
}

TEST(QuantizedAdamStep, RejectsBadArguments) {
    AdamProblem p(4,
                  8,
                  state_format(8, Granularity::kPerChannel),
                  std::nullopt,
                  SecondMomentMapping::kLinear,
                  1);
    const AdamStepScalars s = scalars_for_step(1);
    StateQuantFormat bad = *p.m.format;
    for (const int bits : {1, 9}) {
        bad.bits = bits;
        QuantizedAdamArgs a = p.args(s);
        a.m.format = &bad;
        EXPECT_EQ(quantized_adam_step_ref(a), Status::kBadArgument) << bits;
        EXPECT_EQ(quantized_adam_step_cpu_parallel(a), Status::kBadArgument) << bits;
    }
    bad = *p.m.format;
    bad.granularity = Granularity::kPerBlock;
    bad.block_size = 0;
    QuantizedAdamArgs a = p.args(s);
    a.m.format = &bad;
    EXPECT_EQ(quantized_adam_check_args(a), Status::kBadArgument);
    a = p.args(s);
    a.m.quantized.codes = nullptr;
    EXPECT_EQ(quantized_adam_check_args(a), Status::kBadArgument);
    a = p.args(s);
    a.v.values = nullptr;
    EXPECT_EQ(quantized_adam_check_args(a), Status::kBadArgument);
    a = p.args(s);
    a.rows = -1;
    EXPECT_EQ(quantized_adam_check_args(a), Status::kBadShape);
    a = p.args(s);
    a.rows = 0;  // empty parameter: nothing to do
    EXPECT_EQ(quantized_adam_step_cpu_parallel(a), Status::kOk);
}

}  // namespace
}  // namespace lowbit::kernels
