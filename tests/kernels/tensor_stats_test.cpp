// Tests of tensor_stats_ref (hand-computed cases) and tensor_stats_cpu_parallel (against the
// reference on awkward sizes and contents, and independence from the thread count).
#include "lowbit/kernels/tensor_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "kernels_test_util.h"

namespace lowbit::kernels {
namespace {

using test::kSumRelTolerance;

void expect_stats_match(const TensorStats& ref,
                        const TensorStats& got,
                        double abs_sum,
                        const char* what) {
    SCOPED_TRACE(what);
    EXPECT_EQ(ref.n, got.n);
    EXPECT_EQ(ref.nan_count, got.nan_count);
    EXPECT_EQ(ref.inf_count, got.inf_count);
    EXPECT_EQ(ref.zero_count, got.zero_count);
    EXPECT_EQ(ref.clipped_low, got.clipped_low);
    EXPECT_EQ(ref.clipped_high, got.clipped_high);
    if (std::isnan(ref.min)) {
        EXPECT_TRUE(std::isnan(got.min));
        EXPECT_TRUE(std::isnan(got.max));
    } else {
        EXPECT_EQ(ref.min, got.min);  // == treats -0 and +0 as equal, as intended
        EXPECT_EQ(ref.max, got.max);
    }
    EXPECT_NEAR(ref.sum, got.sum, kSumRelTolerance * abs_sum + 1e-300);
    EXPECT_NEAR(ref.sumsq, got.sumsq, kSumRelTolerance * ref.sumsq + 1e-300);
}

TEST(TensorStatsRef, HandComputedUniform) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> x = {-1.0f, 0.0f, 0.5f, 1.0f, 2.0f, nan, inf, -inf, 0.25f};
    // 4 bins of width 0.5 over [-1, 1]: [-1,-0.5) [-0.5,0) [0,0.5) [0.5,1]
    //   -1 -> bin 0 (x == lo); 0 -> bin 2; 0.25 -> bin 2; 0.5 -> bin 3; 1 -> bin 3 (x == hi);
    //   2 -> clipped_high; NaN, +-Inf -> not binned.
    std::vector<std::int64_t> counts(4, -1);
    TensorStats s;
    ASSERT_EQ(tensor_stats_ref(x.data(), 9, histogram_uniform(4, -1.0, 1.0), &s, counts.data()),
              Status::kOk);
    EXPECT_EQ(counts, (std::vector<std::int64_t>{1, 0, 2, 2}));
    EXPECT_EQ(s.n, 9);
    EXPECT_EQ(s.nan_count, 1);
    EXPECT_EQ(s.inf_count, 2);
    EXPECT_EQ(s.zero_count, 1);
    EXPECT_EQ(s.clipped_low, 0);
    EXPECT_EQ(s.clipped_high, 1);
    EXPECT_EQ(s.min, -1.0f);
    EXPECT_EQ(s.max, 2.0f);
    EXPECT_DOUBLE_EQ(s.sum, 2.75);      // -1 + 0 + 0.5 + 1 + 2 + 0.25
    EXPECT_DOUBLE_EQ(s.sumsq, 6.3125);  // 1 + 0.25 + 1 + 4 + 0.0625
}

TEST(TensorStatsRef, HandComputedLog2) {
    const float tiny = std::numeric_limits<float>::denorm_min();  // 2^-149
    const std::vector<float> x = {0.75f, 1.0f, 3.0f, 8.0f, 0.0f, -0.3f, 1e-30f, 1e30f, tiny};
    // Exponents [-2, 2] -> bins for e = -2..2: 0.75 -> -1, 1 -> 0, 3 -> 1, -0.3 -> -2;
    // 8 -> 3 and 1e30 -> high; 1e-30 and 2^-149 -> low; 0 -> zero_count only.
    std::vector<std::int64_t> counts(5, -1);
    TensorStats s;
    ASSERT_EQ(tensor_stats_ref(x.data(), 9, histogram_log2(-2, 2), &s, counts.data()), Status::kOk);
    EXPECT_EQ(counts, (std::vector<std::int64_t>{1, 1, 1, 1, 0}));
    EXPECT_EQ(s.clipped_low, 2);
    EXPECT_EQ(s.clipped_high, 2);
    EXPECT_EQ(s.zero_count, 1);

    // The subnormal lands in its own bin with the true exponent -149.
    std::vector<std::int64_t> sub_counts(2, -1);
    ASSERT_EQ(tensor_stats_ref(&tiny, 1, histogram_log2(-149, -148), &s, sub_counts.data()),
              Status::kOk);
    EXPECT_EQ(sub_counts, (std::vector<std::int64_t>{1, 0}));
}

TEST(TensorStatsRef, NoFiniteValuesGivesNanMinMax) {
    const std::vector<float> x = {std::numeric_limits<float>::quiet_NaN(),
                                  std::numeric_limits<float>::infinity()};
    TensorStats s;
    ASSERT_EQ(tensor_stats_ref(x.data(), 2, HistogramSpec{}, &s, nullptr), Status::kOk);
    EXPECT_TRUE(std::isnan(s.min));
    EXPECT_TRUE(std::isnan(s.max));
    EXPECT_EQ(s.sum, 0.0);
}

TEST(TensorStats, RejectsBadArguments) {
    TensorStats s;
    std::int64_t counts[4];
    const float x[1] = {1.0f};
    for (auto fn : {&tensor_stats_ref}) {
        EXPECT_EQ(fn(x, 1, histogram_uniform(-1, 0.0, 1.0), &s, counts), Status::kBadArgument);
        EXPECT_EQ(fn(x, 1, histogram_uniform(4, 1.0, 1.0), &s, counts), Status::kBadArgument);
        EXPECT_EQ(fn(x, 1, histogram_uniform(4, 0.0, 1.0), &s, nullptr), Status::kBadArgument);
        EXPECT_EQ(fn(x, 1, histogram_log2(3, 2), &s, counts), Status::kBadArgument);
        EXPECT_EQ(fn(nullptr, 1, HistogramSpec{}, &s, nullptr), Status::kBadArgument);
        EXPECT_EQ(fn(x, -1, HistogramSpec{}, &s, nullptr), Status::kBadShape);
        EXPECT_EQ(fn(x, 1, HistogramSpec{}, nullptr, nullptr), Status::kBadArgument);
    }
    EXPECT_EQ(tensor_stats_cpu_parallel(x, 1, histogram_uniform(4, 1.0, 0.0), &s, counts, 2),
              Status::kBadArgument);
}

struct StatsCase {
    std::int64_t n;
    HistogramSpec spec;
    bool specials;
};

// Readable test names and failure messages, e.g. "n1000003_uniform64".
std::string stats_case_name(const StatsCase& c) {
    const int bins = histogram_bin_count(c.spec);
    const char* scheme = c.spec.scheme == HistogramScheme::kUniform ? "uniform" : "log2_";
    return "n" + std::to_string(c.n) + "_" + scheme + std::to_string(bins) +
           (c.specials ? "_specials" : "");
}

void PrintTo(const StatsCase& c, std::ostream* os) {
    *os << stats_case_name(c);
}

class TensorStatsCpuParallel : public ::testing::TestWithParam<StatsCase> {};

TEST_P(TensorStatsCpuParallel, MatchesReference) {
    const StatsCase c = GetParam();
    std::vector<float> x = test::random_normal(c.n, 1234 + static_cast<std::uint64_t>(c.n));
    if (c.specials) {
        test::add_special_values(x);
    }
    if (c.n > 4) {  // values exactly on the range ends
        x[1] = static_cast<float>(c.spec.lo);
        x[2] = static_cast<float>(c.spec.hi);
    }
    const int bins = histogram_bin_count(c.spec);
    std::vector<std::int64_t> ref_counts(static_cast<std::size_t>(bins));
    TensorStats ref;
    ASSERT_EQ(tensor_stats_ref(x.data(), c.n, c.spec, &ref, ref_counts.data()), Status::kOk);
    TensorStats first;
    for (int threads : {1, 2, 3, 8}) {
        std::vector<std::int64_t> counts(static_cast<std::size_t>(bins), -7);
        TensorStats got;
        ASSERT_EQ(tensor_stats_cpu_parallel(x.data(), c.n, c.spec, &got, counts.data(), threads),
                  Status::kOk);
        EXPECT_EQ(ref_counts, counts) << "threads=" << threads;
        expect_stats_match(ref, got, test::sum_abs(x), "cpu_parallel vs ref");
        if (threads == 1) {
            first = got;
        } else {  // chunked sums are combined in chunk order: bit-identical for any thread count
            EXPECT_EQ(first.sum, got.sum) << "threads=" << threads;
            EXPECT_EQ(first.sumsq, got.sumsq) << "threads=" << threads;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    Sizes,
    TensorStatsCpuParallel,
    ::testing::Values(StatsCase{0, histogram_uniform(8, -1.0, 1.0), false},
                      StatsCase{1, histogram_uniform(8, -1.0, 1.0), false},
                      StatsCase{7, histogram_uniform(3, -0.5, 0.7), true},
                      StatsCase{1000, HistogramSpec{}, true},
                      StatsCase{1000003, histogram_uniform(64, -3.0, 3.0), false},
                      StatsCase{1000003, histogram_uniform(257, -1e4, 1e4), true},
                      StatsCase{1000003, histogram_log2(-30, 10), true},
                      StatsCase{100000, histogram_uniform(20000, -2.0, 2.0), true}),
    [](const auto& param_info) { return stats_case_name(param_info.param); });

TEST(TensorStatsCpuParallel, AllZeros) {
    const std::vector<float> x(70001, 0.0f);
    std::vector<std::int64_t> counts(4);
    TensorStats s;
    ASSERT_EQ(tensor_stats_cpu_parallel(x.data(), 70001, histogram_log2(-1, 2), &s, counts.data()),
              Status::kOk);
    EXPECT_EQ(s.zero_count, 70001);
    EXPECT_EQ(counts, (std::vector<std::int64_t>{0, 0, 0, 0}));
    EXPECT_EQ(s.min, 0.0f);
    EXPECT_EQ(s.max, 0.0f);
    EXPECT_EQ(s.sum, 0.0);
}

}  // namespace
}  // namespace lowbit::kernels
