// The vector loops on every SIMD target this build generates and the host runs (Highway picks
// the best one at run time; the others would otherwise go untested here): fake quantization
// bit-identical to fake_quant_ref, its int8 codes equal to fake_quant_codes_ref's, and the
// statistics pass's counts equal to quant_stats_ref's, on shapes whose rows end in every vector
// tail.
#include "lowbit/kernels/fake_quant.h"
#include "lowbit/kernels/quant_stats.h"

#include <gtest/gtest.h>

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
    // Rows of 16·k + r values for every tail r < 16 (the widest vector holds 16 floats).
    const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {
        {5, 1024 + 16}, {3, 2000}, {9, 16 * 70}, {2, 5003}};
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
                // The int8 codes kernel takes the symmetric quantizers; it refuses the others.
                const std::int64_t groups = fake_quant_num_groups(p, rows, cols);
                std::vector<std::int8_t> ref_codes(x.size()), got_codes(x.size());
                std::vector<float> ref_s(groups), got_s(groups), z(groups);
                ASSERT_EQ(fake_quant_codes_ref(
                              x.data(), rows, cols, p, ref_codes.data(), ref_s.data(), z.data()),
                          Status::kOk);
                const Status codes_status = fake_quant_codes_cpu_parallel(
                    x.data(), rows, cols, p, got_codes.data(), got_s.data(), nullptr, 2);
                ASSERT_EQ(codes_status, p.symmetric ? Status::kOk : Status::kNoKernelForConfig);
                if (p.symmetric) {
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

}  // namespace
}  // namespace lowbit::kernels
