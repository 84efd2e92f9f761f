// launch_quant_stats against quant_stats_ref: counts, min/max and scales exactly equal, sums
// within kSumRelTolerance (atomics add block partial sums in a scheduling-dependent order).
// Several tensors share one device result buffer at aligned offsets and come back in one copy,
// as the telemetry collector does it. Skips without a CUDA device.
#include "lowbit/kernels/quant_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernels_test_util.h"

namespace lowbit::kernels {
namespace {

struct GpuCase {
    std::int64_t rows;
    std::int64_t cols;
    bool quantized;
    FakeQuantParams params;
    int uniform_bins;
    bool specials;
};

std::string gpu_case_name(const GpuCase& c) {
    std::string name = std::to_string(c.rows) + "x" + std::to_string(c.cols) + "_u" +
                       std::to_string(c.uniform_bins);
    if (c.quantized) {
        const FakeQuantParams& p = c.params;
        name += "_b" + std::to_string(p.bits) + (p.symmetric ? "_sym" : "_asym") +
                (p.grid == QuantGrid::kFull ? "_full" : "_ref") +
                (p.granularity == Granularity::kPerTensor    ? "_tensor"
                 : p.granularity == Granularity::kPerChannel ? "_row"
                                                             : "_group") +
                (p.rounding == Rounding::kStochastic ? "_stoch" : "");
    } else {
        name += "_log2";
    }
    return name + (c.specials ? "_specials" : "");
}

void PrintTo(const GpuCase& c, std::ostream* os) {
    *os << gpu_case_name(c);
}

FakeQuantParams params_of(int bits,
                          bool symmetric,
                          QuantGrid grid,
                          Granularity granularity,
                          Rounding rounding = Rounding::kNearest) {
    FakeQuantParams p;
    p.bits = bits;
    p.symmetric = symmetric;
    p.grid = grid;
    p.granularity = granularity;
    p.group_size = 32;
    p.rounding = rounding;
    p.seed = 7;
    return p;
}

std::vector<GpuCase> gpu_cases() {
    using G = Granularity;
    std::vector<GpuCase> cases;
    const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {
        {0, 32}, {1, 1}, {7, 13}, {5, 4099}, {1001, 96}, {3, 700032}};
    for (const auto& [rows, cols] : shapes) {
        for (const bool specials : {false, true}) {
            cases.push_back({rows, cols, false, {}, 64, specials});
            for (const int bits : {2, 4, 8}) {
                cases.push_back({rows,
                                 cols,
                                 true,
                                 params_of(bits, true, QuantGrid::kReference, G::kPerChannel),
                                 64,
                                 specials});
                cases.push_back({rows,
                                 cols,
                                 true,
                                 params_of(bits, false, QuantGrid::kReference, G::kPerTensor),
                                 64,
                                 specials});
                cases.push_back({rows,
                                 cols,
                                 true,
                                 params_of(bits, false, QuantGrid::kFull, G::kPerChannel),
                                 64,
                                 specials});
                if (cols % 32 == 0) {
                    cases.push_back({rows,
                                     cols,
                                     true,
                                     params_of(bits, true, QuantGrid::kReference, G::kPerGroup),
                                     64,
                                     specials});
                }
            }
            cases.push_back(
                {rows,
                 cols,
                 true,
                 params_of(4, true, QuantGrid::kReference, G::kPerTensor, Rounding::kStochastic),
                 64,
                 specials});
        }
    }
    // More bins than fit in shared memory: the global-atomics kernel.
    cases.push_back({101, 3001, false, {}, 20000, true});
    cases.push_back(
        {101, 3001, true, params_of(8, true, QuantGrid::kReference, G::kPerChannel), 20000, false});
    return cases;
}

class QuantStatsGpu : public ::testing::TestWithParam<GpuCase> {};

TEST_P(QuantStatsGpu, MatchesReference) {
    LOWBIT_REQUIRE_CUDA_DEVICE();
    const GpuCase c = GetParam();
    const std::int64_t n = c.rows * c.cols;
    std::vector<float> x = test::random_normal(n, 555 + static_cast<std::uint64_t>(n));
    test::zero_every_third_row(x, c.rows, c.cols);
    if (c.specials) {
        test::add_special_values(x);
    }
    QuantStatsSpec spec;
    spec.uniform_bins = c.uniform_bins;
    const FakeQuantParams* params = c.quantized ? &c.params : nullptr;
    const int second_bins = quant_stats_second_bins(spec, params);
    QuantStats ref;
    std::vector<std::int64_t> ref_uniform(static_cast<std::size_t>(spec.uniform_bins));
    std::vector<std::int64_t> ref_second(static_cast<std::size_t>(second_bins));
    ASSERT_EQ(
        quant_stats_ref(
            x.data(), c.rows, c.cols, params, spec, &ref, ref_uniform.data(), ref_second.data()),
        Status::kOk);

    // Two copies of the same tensor at two offsets of one result buffer (the second after a
    // 3-block gap), fetched with one copy: both decode to the same result.
    const std::size_t block = quant_stats_result_bytes(spec, params);
    test::DeviceVector<unsigned char> results(4 * block + 1);
    test::DeviceVector<float> dx(x);
    ASSERT_EQ(launch_quant_stats(dx.get(), c.rows, c.cols, params, spec, results.get(), nullptr),
              Status::kOk);
    ASSERT_EQ(launch_quant_stats(
                  dx.get(), c.rows, c.cols, params, spec, results.get() + 3 * block, nullptr),
              Status::kOk);
    const std::vector<unsigned char> host = results.to_host();
    for (const std::size_t offset : {std::size_t{0}, 3 * block}) {
        SCOPED_TRACE("offset " + std::to_string(offset));
        QuantStats got;
        std::vector<std::int64_t> uniform(ref_uniform.size(), -1);
        std::vector<std::int64_t> second(ref_second.size(), -1);
        ASSERT_EQ(quant_stats_decode(
                      host.data() + offset, params, spec, &got, uniform.data(), second.data()),
                  Status::kOk);
        EXPECT_EQ(ref_uniform, uniform);
        EXPECT_EQ(ref_second, second);
        EXPECT_EQ(ref.n, got.n);
        EXPECT_EQ(ref.nan_count, got.nan_count);
        EXPECT_EQ(ref.inf_count, got.inf_count);
        EXPECT_EQ(ref.zero_count, got.zero_count);
        EXPECT_EQ(ref.clipped_low, got.clipped_low);
        EXPECT_EQ(ref.clipped_high, got.clipped_high);
        EXPECT_EQ(ref.underflow_count, got.underflow_count);
        EXPECT_EQ(ref.second_low, got.second_low);
        EXPECT_EQ(ref.second_high, got.second_high);
        if (std::isnan(ref.min)) {
            EXPECT_TRUE(std::isnan(got.min));
            EXPECT_TRUE(std::isnan(got.max));
        } else {
            EXPECT_EQ(ref.min, got.min);
            EXPECT_EQ(ref.max, got.max);
        }
        EXPECT_EQ(ref.scale_min, got.scale_min);
        EXPECT_EQ(ref.scale_max, got.scale_max);
        EXPECT_NEAR(ref.sum, got.sum, test::kSumRelTolerance * test::sum_abs(x) + 1e-300);
        EXPECT_NEAR(ref.sumsq, got.sumsq, test::kSumRelTolerance * ref.sumsq + 1e-300);
        EXPECT_NEAR(ref.sum_quad, got.sum_quad, test::kSumRelTolerance * ref.sum_quad + 1e-300);
        EXPECT_NEAR(ref.sum_cube,
                    got.sum_cube,
                    test::kSumRelTolerance * std::sqrt(ref.sumsq * ref.sum_quad) + 1e-300);
        if (std::isfinite(ref.error_sumsq)) {
            EXPECT_NEAR(ref.error_sumsq,
                        got.error_sumsq,
                        test::kSumRelTolerance * ref.error_sumsq + 1e-300);
        } else {
            EXPECT_EQ(std::isnan(ref.error_sumsq), std::isnan(got.error_sumsq));
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AwkwardShapes,
                         QuantStatsGpu,
                         ::testing::ValuesIn(gpu_cases()),
                         [](const auto& param_info) { return gpu_case_name(param_info.param); });

TEST(QuantStatsGpuArgs, RejectsMisalignedResultBlock) {
    LOWBIT_REQUIRE_CUDA_DEVICE();
    const std::vector<float> x(64, 1.0f);
    test::DeviceVector<float> dx(x);
    test::DeviceVector<unsigned char> results(4096);
    EXPECT_EQ(launch_quant_stats(dx.get(), 8, 8, nullptr, {}, results.get() + 8, nullptr),
              Status::kBadArgument);
}

}  // namespace
}  // namespace lowbit::kernels
