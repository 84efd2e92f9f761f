// launch_tensor_stats against tensor_stats_ref: counts, min and max exactly equal, sums within
// kSumRelTolerance (atomics add block partial sums in a scheduling-dependent order).
#include "lowbit/kernels/tensor_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernels_test_util.h"

namespace lowbit::kernels {
namespace {

struct GpuStatsCase {
    std::int64_t n;
    HistogramSpec spec;
    bool specials;
};

// Readable test names and failure messages, e.g. "n1000003_uniform64".
std::string stats_case_name(const GpuStatsCase& c) {
    const int bins = histogram_bin_count(c.spec);
    const char* scheme = c.spec.scheme == HistogramScheme::kUniform ? "uniform" : "log2_";
    return "n" + std::to_string(c.n) + "_" + scheme + std::to_string(bins) +
           (c.specials ? "_specials" : "");
}

void PrintTo(const GpuStatsCase& c, std::ostream* os) {
    *os << stats_case_name(c);
}

class TensorStatsGpu : public ::testing::TestWithParam<GpuStatsCase> {};

TEST_P(TensorStatsGpu, MatchesReference) {
    LOWBIT_REQUIRE_CUDA_DEVICE();
    const GpuStatsCase c = GetParam();
    std::vector<float> x = test::random_normal(c.n, 4321 + static_cast<std::uint64_t>(c.n));
    if (c.specials) {
        test::add_special_values(x);
    }
    if (c.n > 4) {
        x[1] = static_cast<float>(c.spec.lo);
        x[2] = static_cast<float>(c.spec.hi);
    }
    const int bins = histogram_bin_count(c.spec);
    std::vector<std::int64_t> ref_counts(static_cast<std::size_t>(bins));
    TensorStats ref;
    ASSERT_EQ(tensor_stats_ref(x.data(), c.n, c.spec, &ref, ref_counts.data()), Status::kOk);

    test::DeviceVector<float> dx(x);
    std::vector<std::int64_t> counts(static_cast<std::size_t>(bins), -7);
    TensorStats got;
    ASSERT_EQ(launch_tensor_stats(dx.get(), c.n, c.spec, &got, counts.data(), nullptr),
              Status::kOk);
    EXPECT_EQ(ref_counts, counts);
    EXPECT_EQ(ref.n, got.n);
    EXPECT_EQ(ref.nan_count, got.nan_count);
    EXPECT_EQ(ref.inf_count, got.inf_count);
    EXPECT_EQ(ref.zero_count, got.zero_count);
    EXPECT_EQ(ref.clipped_low, got.clipped_low);
    EXPECT_EQ(ref.clipped_high, got.clipped_high);
    if (std::isnan(ref.min)) {
        EXPECT_TRUE(std::isnan(got.min));
    } else {
        EXPECT_EQ(ref.min, got.min);
        EXPECT_EQ(ref.max, got.max);
    }
    EXPECT_NEAR(ref.sum, got.sum, test::kSumRelTolerance * test::sum_abs(x) + 1e-300);
    EXPECT_NEAR(ref.sumsq, got.sumsq, test::kSumRelTolerance * ref.sumsq + 1e-300);
}

INSTANTIATE_TEST_SUITE_P(
    Sizes,
    TensorStatsGpu,
    ::testing::Values(GpuStatsCase{0, histogram_uniform(8, -1.0, 1.0), false},
                      GpuStatsCase{1, histogram_uniform(8, -1.0, 1.0), false},
                      GpuStatsCase{7, histogram_uniform(3, -0.5, 0.7), true},
                      GpuStatsCase{1000, HistogramSpec{}, true},
                      GpuStatsCase{1000003, histogram_uniform(64, -3.0, 3.0), false},
                      GpuStatsCase{1000003, histogram_uniform(257, -1e4, 1e4), true},
                      GpuStatsCase{1000003, histogram_log2(-30, 10), true},
                      GpuStatsCase{1000003, histogram_log2(-149, 127), true},
                      // More bins than fit in shared memory: the global-atomics kernel.
                      GpuStatsCase{300007, histogram_uniform(20000, -2.0, 2.0), true}),
    [](const auto& param_info) { return stats_case_name(param_info.param); });

}  // namespace
}  // namespace lowbit::kernels
