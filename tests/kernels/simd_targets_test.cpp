// The vector loops on every SIMD target this build generates and the host runs (Highway picks
// the best one at run time; the others would otherwise go untested here): fake quantization
// bit-identical to fake_quant_ref, its int8 codes equal to fake_quant_codes_ref's, and the
// statistics pass's counts equal to quant_stats_ref's, on shapes whose rows end in every vector
// tail.
#include "lowbit/kernels/fake_quant.h"
#include "lowbit/kernels/quant_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels_test_util.h"
#include <hwy/targets.h>

namespace lowbit::kernels {
namespace {

// Restores Highway's own choice of target when a test ends.
class SimdTargets : public ::testing::Test {
protected:
    void TearDown() override {
        hwy::SetSupportedTargetsForTest(0);
    }
};

std::vector<FakeQuantParams> all_params() {
    std::vector<FakeQuantParams> out;
    for (const Granularity g :
         {Granularity::kPerTensor, Granularity::kPerChannel, Granularity::kPerGroup}) {
        for (const bool symmetric : {true, false}) {
            for (const int bits : {4, 8}) {
                FakeQuantParams p;
                p.bits = bits;
                p.symmetric = symmetric;
                p.granularity = g;
                p.group_size = 16;
                out.push_back(p);
            }
        }
    }
    return out;
}

TEST_F(SimdTargets, EveryTargetMatchesTheReferences) {
    // Rows of 16·k + r values for every tail r < 16 (the widest vector holds 16 floats). The
    // statistics pass counts a thread's share of the values into a joint table of both
    // histograms when the share holds at least as many values as the table has cells
    // (docs/kernels.md §Statistics pass): 1088 at 4 bits, 5184 for the log2 histogram, 16448 at
    // 8 bits. Two threads share the last shape's 9 chunks of 4 Ki values as 4 and 5, so at 8 bits
    // one counts each way.
    const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {
        {5, 1024 + 16}, {3, 2000}, {9, 16 * 70}, {2, 5003}, {3, 16 * 700 + 9}};
    const QuantStatsSpec spec;
    const std::vector<std::int64_t> targets = hwy::SupportedAndGeneratedTargets();
    ASSERT_FALSE(targets.empty());
    for (const std::int64_t target : targets) {
        hwy::SetSupportedTargetsForTest(target);
        SCOPED_TRACE(std::string("target ") + hwy::TargetName(target));
        for (const auto& [rows, cols] : shapes) {
            SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols));
            std::vector<float> x = test::random_normal(rows * cols, 17 + cols);
            test::zero_every_third_row(x, rows, cols);
            for (const FakeQuantParams& p : all_params()) {
                if (p.granularity == Granularity::kPerGroup && cols % p.group_size != 0) {
                    continue;
                }
                SCOPED_TRACE("bits " + std::to_string(p.bits) + (p.symmetric ? " sym" : " asym") +
                             " granularity " + std::to_string(static_cast<int>(p.granularity)));
                std::vector<float> ref(x.size()), got(x.size());
                ASSERT_EQ(fake_quant_ref(x.data(), rows, cols, p, ref.data(), nullptr, nullptr),
                          Status::kOk);
                ASSERT_EQ(fake_quant_cpu_parallel(
                              x.data(), rows, cols, p, got.data(), nullptr, nullptr, 2),
                          Status::kOk);
                EXPECT_TRUE(test::bits_equal(ref, got));
                // The int8 codes kernel takes the symmetric quantizers with groups of at most
                // 16 Ki values; it refuses the others.
                const std::int64_t groups = fake_quant_num_groups(p, rows, cols);
                const bool codes_kernel = p.symmetric && rows * cols / groups <= 16384;
                std::vector<std::int8_t> ref_codes(x.size()), got_codes(x.size());
                std::vector<float> ref_s(groups), got_s(groups), z(groups);
                ASSERT_EQ(fake_quant_codes_ref(
                              x.data(), rows, cols, p, ref_codes.data(), ref_s.data(), z.data()),
                          Status::kOk);
                const Status codes_status = fake_quant_codes_cpu_parallel(
                    x.data(), rows, cols, p, got_codes.data(), got_s.data(), nullptr, 2);
                ASSERT_EQ(codes_status, codes_kernel ? Status::kOk : Status::kNoKernelForConfig);
                if (codes_kernel) {
                    EXPECT_EQ(ref_codes, got_codes);
                    EXPECT_TRUE(test::bits_equal(ref_s, got_s));
                }
            }
            std::vector<const FakeQuantParams*> stats_params = {nullptr};
            const std::vector<FakeQuantParams> params = all_params();
            for (const FakeQuantParams& p : params) {
                if (p.granularity != Granularity::kPerGroup || cols % p.group_size == 0) {
                    stats_params.push_back(&p);
                }
            }
            for (const FakeQuantParams* p : stats_params) {
                const auto second_bins = static_cast<std::size_t>(quant_stats_second_bins(spec, p));
                QuantStats a, b;
                std::vector<std::int64_t> ua(spec.uniform_bins), ub(spec.uniform_bins);
                std::vector<std::int64_t> sa(second_bins), sb(second_bins);
                ASSERT_EQ(quant_stats_ref(x.data(), rows, cols, p, spec, &a, ua.data(), sa.data()),
                          Status::kOk);
                ASSERT_EQ(quant_stats_cpu_parallel(
                              x.data(), rows, cols, p, spec, &b, ub.data(), sb.data(), 2),
                          Status::kOk);
                EXPECT_EQ(ua, ub) << (p ? "quantized" : "log2");
                EXPECT_EQ(sa, sb) << (p ? "quantized" : "log2");
                test::expect_same_tallies(a, b);
                EXPECT_NEAR(a.sum_quad, b.sum_quad, test::kSumRelTolerance * a.sum_quad);
                EXPECT_NEAR(a.error_sumsq, b.error_sumsq, test::kSumRelTolerance * a.error_sumsq);
            }
        }
    }
}

// The statistics pass's vector loop finds a symmetric code from x · RN(1/s) and falls back to
// the division x / s only near an edge between two codes (docs/kernels.md §Statistics pass).
// Here every value is one where that shortcut alone gives the wrong code: near a half-integer
// of x / s, round(RN(x · RN(1/s))) differs from round(RN(x / s)). The values are found by
// search over many scales, a few float steps around every edge; a value counted under the
// shortcut's code would move a count between two bins of the grid histogram.
TEST_F(SimdTargets, StatisticsWhereTheReciprocalGivesAnotherCodeMatchTheReference) {
    const QuantStatsSpec spec;
    for (const int bits : {4, 8}) {
        FakeQuantParams p;
        p.bits = bits;
        p.symmetric = true;
        p.granularity = Granularity::kPerChannel;
        p.min_range = 1e-30f;  // below every absmax here: s = absmax / Qp
        const auto qp = static_cast<float>((1 << (bits - 1)) - 1);
        std::vector<std::vector<float>> rows;
        std::size_t hazards = 0;
        std::uint32_t state = 12345;
        for (int attempt = 0; attempt < 400; ++attempt) {
            state = state * 1664525u + 1013904223u;  // scales spread over [2^-20, 2^20)
            const float wanted = std::ldexp(1.0f + static_cast<float>(state >> 8) * 0x1p-24f,
                                            static_cast<int>(state % 40) - 20);
            // Each row's absmax sets its scale s = absmax / Qp (docs/quantized-pretraining.md
            // §Symmetric and asymmetric scales).
            const float absmax = wanted * qp;
            const float s = absmax / qp;
            const float inv = 1.0f / s;
            std::vector<float> row = {absmax};
            for (int k = -static_cast<int>(qp); k < static_cast<int>(qp); ++k) {
                float v = static_cast<float>((k + 0.5) * static_cast<double>(s));
                for (int step = 0; step < 4; ++step) {
                    v = std::nextafter(v, -INFINITY);
                }
                for (int step = 0; step < 9; ++step, v = std::nextafter(v, INFINITY)) {
                    if (std::fabs(v) <= absmax &&
                        std::nearbyint(v / s) != std::nearbyint(v * inv)) {
                        row.push_back(v);
                    }
                }
            }
            if (row.size() > 1) {
                hazards += row.size() - 1;
                rows.push_back(row);
            }
        }
        ASSERT_GT(hazards, 50u) << "the search found too few values to test";
        // Equal rows of 16·k + 3 values (every target's vector loop and its tail), each row
        // repeating its own values.
        std::size_t longest = 0;
        for (const auto& row : rows) {
            longest = std::max(longest, row.size());
        }
        const auto cols = static_cast<std::int64_t>((longest + 15) / 16 * 16 * 2 + 3);
        std::vector<float> x;
        for (const auto& row : rows) {
            for (std::int64_t c = 0; c < cols; ++c) {
                x.push_back(row[static_cast<std::size_t>(c) % row.size()]);
            }
        }
        const auto num_rows = static_cast<std::int64_t>(rows.size());
        const auto second_bins = static_cast<std::size_t>(quant_stats_second_bins(spec, &p));
        QuantStats a;
        std::vector<std::int64_t> ua(spec.uniform_bins), sa(second_bins);
        ASSERT_EQ(quant_stats_ref(x.data(), num_rows, cols, &p, spec, &a, ua.data(), sa.data()),
                  Status::kOk);
        for (const std::int64_t target : hwy::SupportedAndGeneratedTargets()) {
            hwy::SetSupportedTargetsForTest(target);
            SCOPED_TRACE(std::string("target ") + hwy::TargetName(target) + ", bits " +
                         std::to_string(bits) + ", " + std::to_string(hazards) + " values");
            QuantStats b;
            std::vector<std::int64_t> ub(spec.uniform_bins), sb(second_bins);
            ASSERT_EQ(quant_stats_cpu_parallel(
                          x.data(), num_rows, cols, &p, spec, &b, ub.data(), sb.data(), 2),
                      Status::kOk);
            EXPECT_EQ(sa, sb);
            EXPECT_EQ(ua, ub);
            test::expect_same_tallies(a, b);
            EXPECT_NEAR(a.error_sumsq, b.error_sumsq, test::kSumRelTolerance * a.error_sumsq);
        }
    }
}

}  // namespace
}  // namespace lowbit::kernels
