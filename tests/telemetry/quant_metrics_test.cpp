// quant_metrics against explicit two-pass formulas over the data (mean, central moments, the
// fake-quantized values from fake_quant_ref), so it checks the raw-moment algebra of the metrics.
#include "lowbit/telemetry/quant_metrics.h"

#include "lowbit/kernels/fake_quant.h"
#include "lowbit/kernels/quant_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace lowbit::telemetry {
namespace {

struct Computed {
    kernels::QuantStats stats;
    QuantMetrics metrics;
};

Computed compute(const std::vector<float>& x,
                 std::int64_t rows,
                 std::int64_t cols,
                 const kernels::FakeQuantParams* params) {
    const kernels::QuantStatsSpec spec;
    std::vector<std::int64_t> uniform(static_cast<std::size_t>(spec.uniform_bins));
    std::vector<std::int64_t> second(
        static_cast<std::size_t>(kernels::quant_stats_second_bins(spec, params)));
    Computed c;
    EXPECT_EQ(kernels::quant_stats_ref(
                  x.data(), rows, cols, params, spec, &c.stats, uniform.data(), second.data()),
              kernels::Status::kOk);
    c.metrics = quant_metrics(c.stats, params != nullptr);
    return c;
}

// Laplace-like data (heavy tails, kurtosis 6) with an offset, so the central moments matter.
std::vector<float> laplace(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::exponential_distribution<float> e(1.0f);
    std::vector<float> x(n);
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = 0.3f + (i % 2 == 0 ? e(rng) : -e(rng));
    }
    return x;
}

TEST(QuantMetrics, MomentsMatchTwoPassFormulas) {
    const std::vector<float> x = laplace(20011, 3);
    const Computed c = compute(x, 1, static_cast<std::int64_t>(x.size()), nullptr);
    double mean = 0.0;
    for (const float v : x) {
        mean += v;
    }
    mean /= static_cast<double>(x.size());
    double m2 = 0.0, m4 = 0.0, absmax = 0.0;
    for (const float v : x) {
        const double d = v - mean;
        m2 += d * d;
        m4 += d * d * d * d;
        absmax = std::max(absmax, std::fabs(static_cast<double>(v)));
    }
    m2 /= static_cast<double>(x.size());
    m4 /= static_cast<double>(x.size());
    // Raw-moment algebra in double loses ~1e-12 relative here (|mean| ~ σ/5).
    EXPECT_NEAR(c.metrics.mean, mean, 1e-12);
    EXPECT_NEAR(c.metrics.stddev, std::sqrt(m2), 1e-10 * std::sqrt(m2));
    EXPECT_NEAR(c.metrics.kurtosis, m4 / (m2 * m2), 1e-9 * m4 / (m2 * m2));
    EXPECT_NEAR(c.metrics.absmax_over_sigma, absmax / std::sqrt(m2), 1e-9);
    EXPECT_GT(c.metrics.kurtosis, 4.5);  // Laplace: 6 (sampling noise aside)
    EXPECT_TRUE(std::isnan(c.metrics.sqnr_db)) << "no quantizer, no SQNR";
}

TEST(QuantMetrics, QuantizerMetricsMatchExplicitComputation) {
    const std::vector<float> x = laplace(4096, 5);
    for (const int bits : {2, 4, 8}) {
        kernels::FakeQuantParams p;
        p.bits = bits;
        p.granularity = kernels::Granularity::kPerChannel;
        const Computed c = compute(x, 64, 64, &p);
        std::vector<float> xq(x.size());
        ASSERT_EQ(kernels::fake_quant_ref(x.data(), 64, 64, p, xq.data(), nullptr, nullptr),
                  kernels::Status::kOk);
        double signal = 0.0, noise = 0.0;
        std::int64_t underflow = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            signal += static_cast<double>(x[i]) * x[i];
            const double d = static_cast<double>(x[i]) - xq[i];
            noise += d * d;
            underflow += (x[i] != 0.0f && xq[i] == 0.0f) ? 1 : 0;
        }
        // SQNR = 20 log10(||x|| / ||x - Q(x)||).
        EXPECT_NEAR(
            c.metrics.sqnr_db, 20.0 * std::log10(std::sqrt(signal) / std::sqrt(noise)), 1e-9)
            << bits << " bits";
        EXPECT_NEAR(c.metrics.mse, noise / static_cast<double>(x.size()), 1e-15);
        EXPECT_DOUBLE_EQ(c.metrics.underflow_fraction,
                         static_cast<double>(underflow) / static_cast<double>(x.size()));
        EXPECT_EQ(c.metrics.clip_fraction, 0.0) << "absmax scaling never clips";
    }
    // About 6 dB per bit: 8-bit per-row SQNR of Laplace data is far above 4-bit.
    kernels::FakeQuantParams p4, p8;
    p4.bits = 4;
    p8.bits = 8;
    EXPECT_GT(compute(x, 64, 64, &p8).metrics.sqnr_db,
              compute(x, 64, 64, &p4).metrics.sqnr_db + 20.0);
}

TEST(QuantMetrics, EdgeCases) {
    kernels::FakeQuantParams p;
    // All zeros: Q(x) = x exactly but there is no signal: SQNR undefined, σ = 0.
    const Computed zeros = compute(std::vector<float>(16, 0.0f), 4, 4, &p);
    EXPECT_TRUE(std::isnan(zeros.metrics.sqnr_db));
    EXPECT_EQ(zeros.metrics.mse, 0.0);
    EXPECT_TRUE(std::isnan(zeros.metrics.kurtosis));
    EXPECT_TRUE(std::isnan(zeros.metrics.absmax_over_sigma));
    // Values on the grid: no error, SQNR +Inf.
    const Computed exact = compute({-127.0f, 0.0f, 1.0f, 127.0f}, 1, 4, &p);
    EXPECT_EQ(exact.metrics.sqnr_db, std::numeric_limits<double>::infinity());
    // Only NaN: nothing is defined.
    const Computed nan = compute(std::vector<float>(3, std::nanf("")), 1, 3, &p);
    EXPECT_EQ(nan.metrics.finite, 0);
    EXPECT_TRUE(std::isnan(nan.metrics.mean));
    EXPECT_TRUE(std::isnan(nan.metrics.sqnr_db));
}

}  // namespace
}  // namespace lowbit::telemetry
