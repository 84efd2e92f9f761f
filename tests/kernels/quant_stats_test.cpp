// quant_stats: the CPU-parallel path against the scalar reference (counts, min/max and scales
// exactly equal, sums within kSumRelTolerance, independent of the thread count), and the
// reference against independent computations: the error, clip and underflow counts recomputed
// from fake_quant_ref's output and scales, the grid histogram from fake_quant_codes_ref, and the
// uniform/log2 histograms and moments from tensor_stats_ref.
#include "lowbit/kernels/quant_stats.h"

#include "lowbit/kernels/fake_quant.h"
#include "lowbit/kernels/tensor_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <ostream>
#include <string>
#include <vector>

#include "kernels_test_util.h"

namespace lowbit::kernels {
namespace {

struct StatsCase {
    std::int64_t rows;
    std::int64_t cols;
    bool quantized;
    FakeQuantParams params;
    bool specials;  // NaN / Inf / zeros / subnormals sprinkled in
};

std::string case_name(const StatsCase& c) {
    std::string name = std::to_string(c.rows) + "x" + std::to_string(c.cols);
    if (!c.quantized) {
        return name + "_unquantized" + (c.specials ? "_specials" : "");
    }
    const FakeQuantParams& p = c.params;
    name += "_b" + std::to_string(p.bits) + (p.symmetric ? "_sym" : "_asym") +
            (p.grid == QuantGrid::kFull ? "_full" : "_ref");
    name += p.granularity == Granularity::kPerTensor    ? "_tensor"
            : p.granularity == Granularity::kPerChannel ? "_row"
                                                        : "_group" + std::to_string(p.group_size);
    name += p.rounding == Rounding::kStochastic ? "_stoch" : "";
    return name + (c.specials ? "_specials" : "");
}

void PrintTo(const StatsCase& c, std::ostream* os) {
    *os << case_name(c);
}

FakeQuantParams make_params(int bits,
                            bool symmetric,
                            QuantGrid grid,
                            Granularity granularity,
                            std::int64_t group_size = 16,
                            Rounding rounding = Rounding::kNearest) {
    FakeQuantParams p;
    p.bits = bits;
    p.symmetric = symmetric;
    p.grid = grid;
    p.granularity = granularity;
    p.group_size = group_size;
    p.rounding = rounding;
    p.seed = 99;
    return p;
}

std::vector<StatsCase> all_cases() {
    std::vector<StatsCase> cases;
    // Awkward shapes: a single value, primes, a row longer than one chunk (2^15) and one range
    // block (2^14), a buffer with many short rows, and an empty one.
    const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {
        {1, 1}, {7, 13}, {33, 1000}, {3, 70001}, {4099, 16}, {0, 5}};
    for (const auto& [rows, cols] : shapes) {
        for (const bool specials : {false, true}) {
            cases.push_back({rows, cols, false, {}, specials});
            for (const int bits : {2, 4, 8}) {
                for (const bool symmetric : {true, false}) {
                    for (const QuantGrid grid : {QuantGrid::kReference, QuantGrid::kFull}) {
                        if (symmetric && grid == QuantGrid::kFull) {
                            continue;  // identical to the reference grid
                        }
                        for (const Granularity g : {Granularity::kPerTensor,
                                                    Granularity::kPerChannel,
                                                    Granularity::kPerGroup}) {
                            if (g == Granularity::kPerGroup && cols % 16 != 0 && cols % 13 != 0) {
                                continue;
                            }
                            const std::int64_t group = cols % 16 == 0 ? 16 : 13;
                            cases.push_back({rows,
                                             cols,
                                             true,
                                             make_params(bits, symmetric, grid, g, group),
                                             specials});
                        }
                    }
                }
            }
            cases.push_back({rows,
                             cols,
                             true,
                             make_params(4,
                                         true,
                                         QuantGrid::kReference,
                                         Granularity::kPerChannel,
                                         16,
                                         Rounding::kStochastic),
                             specials});
            cases.push_back({rows,
                             cols,
                             true,
                             make_params(3,
                                         false,
                                         QuantGrid::kFull,
                                         Granularity::kPerTensor,
                                         16,
                                         Rounding::kStochastic),
                             specials});
        }
    }
    return cases;
}

std::vector<StatsCase> finite_cases() {
    std::vector<StatsCase> cases;
    for (const StatsCase& c : all_cases()) {
        if (!c.specials) {
            cases.push_back(c);
        }
    }
    return cases;
}

std::vector<float> make_input(const StatsCase& c) {
    const std::int64_t n = c.rows * c.cols;
    std::vector<float> x =
        test::random_normal(n, 1000 + static_cast<std::uint64_t>(n) + (c.specials ? 7 : 0));
    test::zero_every_third_row(x, c.rows, c.cols);
    if (c.specials) {
        test::add_special_values(x);
    }
    return x;
}

struct StatsResult {
    QuantStats stats;
    std::vector<std::int64_t> uniform;
    std::vector<std::int64_t> second;
};

StatsResult run(const StatsCase& c, const std::vector<float>& x, int threads /* -1: ref */) {
    const QuantStatsSpec spec;
    const FakeQuantParams* params = c.quantized ? &c.params : nullptr;
    StatsResult r;
    r.uniform.assign(static_cast<std::size_t>(spec.uniform_bins), -1);
    r.second.assign(static_cast<std::size_t>(quant_stats_second_bins(spec, params)), -1);
    const Status status = threads < 0 ? quant_stats_ref(x.data(),
                                                        c.rows,
                                                        c.cols,
                                                        params,
                                                        spec,
                                                        &r.stats,
                                                        r.uniform.data(),
                                                        r.second.data())
                                      : quant_stats_cpu_parallel(x.data(),
                                                                 c.rows,
                                                                 c.cols,
                                                                 params,
                                                                 spec,
                                                                 &r.stats,
                                                                 r.uniform.data(),
                                                                 r.second.data(),
                                                                 threads);
    EXPECT_EQ(status, Status::kOk);
    return r;
}

// Equal as numbers (so NaN == NaN, and -0 == +0: the sign of a zero min may differ by order).
bool same_float(float a, float b) {
    return (std::isnan(a) && std::isnan(b)) || a == b;
}

void expect_near_sum(double expected, double actual, double scale, const char* what) {
    EXPECT_NEAR(expected, actual, test::kSumRelTolerance * scale + 1e-300) << what;
}

class QuantStatsCpu : public ::testing::TestWithParam<StatsCase> {};

TEST_P(QuantStatsCpu, ParallelMatchesReference) {
    const StatsCase c = GetParam();
    const std::vector<float> x = make_input(c);
    const StatsResult ref = run(c, x, -1);
    for (const int threads : {1, 3, 8}) {
        SCOPED_TRACE("threads " + std::to_string(threads));
        const StatsResult got = run(c, x, threads);
        EXPECT_EQ(ref.uniform, got.uniform);
        EXPECT_EQ(ref.second, got.second);
        const QuantStats& a = ref.stats;
        const QuantStats& b = got.stats;
        test::expect_same_tallies(a, b);
        EXPECT_TRUE(same_float(a.min, b.min)) << a.min << " vs " << b.min;
        EXPECT_TRUE(same_float(a.max, b.max)) << a.max << " vs " << b.max;
        EXPECT_EQ(test::float_bits(a.scale_min), test::float_bits(b.scale_min));
        EXPECT_EQ(test::float_bits(a.scale_max), test::float_bits(b.scale_max));
        const double abs1 = test::sum_abs(x);
        double abs4 = 0.0;
        for (const float v : x) {
            abs4 += std::isfinite(v) ? std::pow(static_cast<double>(v), 4) : 0.0;
        }
        expect_near_sum(a.sum, b.sum, abs1, "sum");
        expect_near_sum(a.sumsq, b.sumsq, a.sumsq, "sumsq");
        expect_near_sum(a.sum_quad, b.sum_quad, abs4, "sum_quad");
        // Σ|x|³ <= sqrt(Σx² Σx⁴) (Cauchy-Schwarz) bounds the cube sum's rounding.
        expect_near_sum(a.sum_cube, b.sum_cube, std::sqrt(a.sumsq * abs4), "sum_cube");
        if (std::isfinite(a.error_sumsq)) {
            expect_near_sum(a.error_sumsq, b.error_sumsq, a.error_sumsq, "error_sumsq");
        } else {
            EXPECT_EQ(std::isnan(a.error_sumsq), std::isnan(b.error_sumsq));
        }
    }
    // The thread count changes nothing, sums included (fixed chunks combined in order).
    const StatsResult one = run(c, x, 1);
    const StatsResult many = run(c, x, 5);
    EXPECT_EQ(one.stats.sum, many.stats.sum);
    EXPECT_EQ(one.stats.sum_quad, many.stats.sum_quad);
    EXPECT_TRUE(same_float(static_cast<float>(one.stats.error_sumsq),
                           static_cast<float>(many.stats.error_sumsq)));
}

TEST_P(QuantStatsCpu, HistogramsCountEveryFiniteValue) {
    const StatsCase c = GetParam();
    const std::vector<float> x = make_input(c);
    const StatsResult r = run(c, x, 4);
    const std::int64_t finite = r.stats.n - r.stats.nan_count - r.stats.inf_count;
    EXPECT_EQ(std::accumulate(r.uniform.begin(), r.uniform.end(), std::int64_t{0}), finite);
    const std::int64_t second = std::accumulate(r.second.begin(), r.second.end(), std::int64_t{0});
    if (!c.quantized) {  // log2 bins skip zeros; out-of-range magnitudes are counted aside
        EXPECT_EQ(second + r.stats.second_low + r.stats.second_high + r.stats.zero_count, finite);
    } else if (!c.specials) {  // an Inf in a group makes its scale infinite and codes NaN
        EXPECT_EQ(second, finite);
    }
}

// The reference against quantities computed here from fake_quant_ref / tensor_stats_ref.
// Finite data only: fake_quant_ref's asymmetric range does not skip NaN (quant_stats does).
class QuantStatsReference : public ::testing::TestWithParam<StatsCase> {};

TEST_P(QuantStatsReference, MatchesFakeQuantAndTensorStats) {
    const StatsCase c = GetParam();
    const std::vector<float> x = make_input(c);
    const StatsResult r = run(c, x, -1);
    const std::int64_t n = c.rows * c.cols;
    const QuantStatsSpec spec;

    // Moments and the uniform histogram over [min, max], by tensor_stats_ref.
    TensorStats plain;
    std::vector<std::int64_t> plain_counts(static_cast<std::size_t>(spec.uniform_bins));
    if (n > 0 && r.stats.max > r.stats.min) {
        ASSERT_EQ(tensor_stats_ref(x.data(),
                                   n,
                                   histogram_uniform(spec.uniform_bins, r.stats.min, r.stats.max),
                                   &plain,
                                   plain_counts.data()),
                  Status::kOk);
        EXPECT_EQ(plain_counts, r.uniform);
        EXPECT_EQ(plain.min, r.stats.min);
        EXPECT_EQ(plain.max, r.stats.max);
        EXPECT_DOUBLE_EQ(plain.sum, r.stats.sum);
        EXPECT_DOUBLE_EQ(plain.sumsq, r.stats.sumsq);
    }
    double cube = 0.0, quad = 0.0;
    for (const float v : x) {
        cube += std::pow(static_cast<double>(v), 3);
        quad += std::pow(static_cast<double>(v), 4);
    }
    EXPECT_NEAR(cube, r.stats.sum_cube, 1e-12 * std::sqrt(r.stats.sumsq * quad) + 1e-300);
    EXPECT_NEAR(quad, r.stats.sum_quad, 1e-12 * quad + 1e-300);

    if (!c.quantized) {
        std::vector<std::int64_t> log2_counts(r.second.size());
        TensorStats log2_stats;
        ASSERT_EQ(tensor_stats_ref(x.data(),
                                   n,
                                   histogram_log2(spec.log2_min_exponent, spec.log2_max_exponent),
                                   &log2_stats,
                                   log2_counts.data()),
                  Status::kOk);
        EXPECT_EQ(log2_counts, r.second);
        EXPECT_EQ(log2_stats.clipped_low, r.stats.second_low);
        EXPECT_EQ(log2_stats.clipped_high, r.stats.second_high);
        return;
    }

    // Error, underflow and clipping from fake_quant_ref's output and scales.
    const FakeQuantParams& p = c.params;
    const std::int64_t groups = fake_quant_num_groups(p, c.rows, c.cols);
    std::vector<float> xq(x.size());
    std::vector<float> scales(static_cast<std::size_t>(groups));
    std::vector<float> zeros(static_cast<std::size_t>(groups));
    ASSERT_EQ(fake_quant_ref(x.data(), c.rows, c.cols, p, xq.data(), scales.data(), zeros.data()),
              Status::kOk);
    const bool full_asym = p.grid == QuantGrid::kFull && !p.symmetric;
    const double qn = full_asym ? 0.0 : -std::ldexp(1.0, p.bits - 1);
    const double qp = full_asym ? std::ldexp(1.0, p.bits) - 1 : std::ldexp(1.0, p.bits - 1) - 1;
    const std::int64_t group_len = groups > 0 ? n / groups : 1;
    double error = 0.0;
    std::int64_t underflow = 0, clip_low = 0, clip_high = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        const double d = static_cast<double>(x[k]) - static_cast<double>(xq[k]);
        error += d * d;
        underflow += (x[k] != 0.0f && xq[k] == 0.0f) ? 1 : 0;
        const auto g = static_cast<std::size_t>(i / group_len);
        // The pre-clamp code in float32, as the quantizer evaluates it.
        const float t = p.symmetric ? x[k] / scales[g]
                        : full_asym ? x[k] / scales[g] + zeros[g]
                                    : x[k] / scales[g] - zeros[g];
        clip_low += std::nearbyint(t) < qn ? 1 : 0;  // the clamp changes the rounded code
        clip_high += std::nearbyint(t) > qp ? 1 : 0;
    }
    EXPECT_NEAR(error, r.stats.error_sumsq, 1e-12 * error + 1e-300);
    EXPECT_EQ(underflow, r.stats.underflow_count);
    EXPECT_EQ(clip_low, r.stats.clipped_low);
    EXPECT_EQ(clip_high, r.stats.clipped_high);
    if (groups > 0) {
        EXPECT_EQ(*std::min_element(scales.begin(), scales.end()), r.stats.scale_min);
        EXPECT_EQ(*std::max_element(scales.begin(), scales.end()), r.stats.scale_max);
    }
    if (p.symmetric) {
        EXPECT_EQ(clip_low + clip_high, 0) << "absmax scaling never clips";
    }

    // Grid histogram from the integer codes (full-grid asymmetric 8-bit codes do not fit int8).
    if (!(full_asym && p.bits == 8)) {
        std::vector<std::int8_t> codes(x.size());
        ASSERT_EQ(fake_quant_codes_ref(
                      x.data(), c.rows, c.cols, p, codes.data(), scales.data(), zeros.data()),
                  Status::kOk);
        std::vector<std::int64_t> grid(r.second.size(), 0);
        for (const std::int8_t q : codes) {
            ++grid[static_cast<std::size_t>(q - static_cast<int>(qn))];
        }
        EXPECT_EQ(grid, r.second);
    }
}

INSTANTIATE_TEST_SUITE_P(AwkwardShapes,
                         QuantStatsCpu,
                         ::testing::ValuesIn(all_cases()),
                         [](const auto& param_info) { return case_name(param_info.param); });

INSTANTIATE_TEST_SUITE_P(AwkwardShapes,
                         QuantStatsReference,
                         ::testing::ValuesIn(finite_cases()),
                         [](const auto& param_info) { return case_name(param_info.param); });

// A hand-worked case: x = [-1, -0.25, 0, 0.001, 0.5, 1], 2-bit symmetric per tensor:
// Qp = 1, s = 1, codes round(x) = [-1, -0, 0, 0, 0 (half to even), 1] = Q(x).
TEST(QuantStatsHandWorked, TwoBitSymmetric) {
    const std::vector<float> x = {-1.0f, -0.25f, 0.0f, 0.001f, 0.5f, 1.0f};
    const FakeQuantParams p = make_params(2, true, QuantGrid::kReference, Granularity::kPerTensor);
    QuantStatsSpec spec;
    spec.uniform_bins = 4;
    QuantStats s;
    std::vector<std::int64_t> uniform(4), grid(4);
    ASSERT_EQ(quant_stats_ref(x.data(), 1, 6, &p, spec, &s, uniform.data(), grid.data()),
              Status::kOk);
    EXPECT_EQ(s.n, 6);
    EXPECT_EQ(s.zero_count, 1);
    EXPECT_EQ(s.min, -1.0f);
    EXPECT_EQ(s.max, 1.0f);
    EXPECT_EQ(s.scale_min, 1.0f);
    EXPECT_EQ(s.underflow_count, 3);  // -0.25, 0.001, 0.5
    const double err = 0.25 * 0.25 + static_cast<double>(0.001f) * 0.001f + 0.25;
    EXPECT_DOUBLE_EQ(s.error_sumsq, err);
    // Bins of width 0.5 over [-1, 1]: [-1,-0.5) {-1}, [-0.5,0) {-0.25}, [0,0.5) {0, 0.001},
    // [0.5,1] {0.5, 1}.
    EXPECT_EQ(uniform, (std::vector<std::int64_t>{1, 1, 2, 2}));
    // Codes -2..1: none at -2, one at -1, four at 0, one at 1.
    EXPECT_EQ(grid, (std::vector<std::int64_t>{0, 1, 4, 1}));
    EXPECT_EQ(s.clipped_low + s.clipped_high, 0);
}

// Asymmetric reference grid: with 2 bits, Qn = -2, Qp = 1 and step (max-min)/(2*Qp), min maps
// to Qn and max to Qp - 1, so the top code is never used (docs/quantized-pretraining.md
// §Symmetric and asymmetric scales).
TEST(QuantStatsHandWorked, ReferenceGridAsymmetricWastesTheTopCode) {
    const std::vector<float> x = {0.0f, 1.0f, 2.0f, 4.0f};
    const FakeQuantParams p = make_params(2, false, QuantGrid::kReference, Granularity::kPerTensor);
    QuantStats s;
    std::vector<std::int64_t> uniform(64), grid(4);
    ASSERT_EQ(
        quant_stats_ref(x.data(), 1, 4, &p, QuantStatsSpec{}, &s, uniform.data(), grid.data()),
        Status::kOk);
    // s = 4 / 2 = 2, z = round(0/2 + 2) = 2, t = x/2 - 2 = [-2, -1.5, -1, 0]: none above Qp
    // = 1. x^ = (clamp-round(t) + 2) * 2 = [0, 0 (t=-1.5 -> -2), 2, 4].
    EXPECT_EQ(s.clipped_high, 0);
    EXPECT_EQ(s.underflow_count, 1);  // 1.0 -> 0
    EXPECT_DOUBLE_EQ(s.error_sumsq, 1.0);
    EXPECT_EQ(grid, (std::vector<std::int64_t>{2, 1, 1, 0}));
}

// Unsigned reference grid (docs/quantized-pretraining.md §Unsigned codes), 2-bit symmetric:
// Qn = 0, Qp = 3, s = 3/3 = 1; codes round(x) = [-2 (below Qn: clipped), 0, 2, 3] and
// Q(x) = [0, 0, 2, 3]; the grid histogram has bin = code - Qn = code.
TEST(QuantStatsHandWorked, UnsignedGridClipsNegativesToCodeZero) {
    const std::vector<float> x = {-2.0f, 0.4f, 1.6f, 3.0f};
    FakeQuantParams p = make_params(2, true, QuantGrid::kReference, Granularity::kPerTensor);
    p.is_signed = false;
    EXPECT_EQ(quant_stats_second_bins(QuantStatsSpec{}, &p), 4);
    for (const bool parallel : {false, true}) {
        QuantStats s;
        std::vector<std::int64_t> uniform(64), grid(4);
        const Status status =
            parallel ? quant_stats_cpu_parallel(
                           x.data(), 1, 4, &p, QuantStatsSpec{}, &s, uniform.data(), grid.data(), 3)
                     : quant_stats_ref(
                           x.data(), 1, 4, &p, QuantStatsSpec{}, &s, uniform.data(), grid.data());
        ASSERT_EQ(status, Status::kOk);
        EXPECT_EQ(s.scale_min, 1.0f) << parallel;
        EXPECT_EQ(s.clipped_low, 1) << parallel;
        EXPECT_EQ(s.clipped_high, 0) << parallel;
        EXPECT_EQ(s.underflow_count, 2) << parallel;  // -2 and 0.4 become 0
        const double e = 2.0 * 2.0 + 2.0 * static_cast<double>(0.4f) * 0.4f;
        EXPECT_NEAR(s.error_sumsq, e, 1e-6) << parallel;
        EXPECT_EQ(grid, (std::vector<std::int64_t>{2, 0, 1, 1})) << parallel;
    }
}

// The uniform bin of a value on a bin edge, or one float step beside it, is the reference's
// double quotient's bin, however the range and bin count round in float (the CPU path bins in
// float and must fall back to that quotient near an edge; docs/kernels.md §Statistics pass).
// Each buffer holds lo, hi and one edge's three neighbours, 16 times over so the vector loop
// takes them; a value put one bin off would move a count between that edge's two bins.
TEST(QuantStatsUniformBins, ValuesOnAndBesideEveryEdgeGetTheReferencesBin) {
    struct Range {
        float lo, hi;
    };

    const std::vector<Range> ranges = {
        {-1.0f, 1.0f},         // edges exact in float
        {-0.3f, 2.7f},         // edges that round
        {-3e38f, 3e38f},       // hi - lo overflows float
        {1e-30f, 1.0001e-30f}  // bins / (hi - lo) overflows float for many bins
    };
    const FakeQuantParams p = make_params(8, true, QuantGrid::kReference, Granularity::kPerTensor);
    for (const Range r : ranges) {
        for (const int bins : {4, 64, 1000, kMaxHistogramBins}) {
            QuantStatsSpec spec;
            spec.uniform_bins = bins;
            const int step = std::max(1, bins / 256);
            for (int k = 0; k <= bins; k += step) {
                const double width = (static_cast<double>(r.hi) - r.lo) / bins;
                const float edge = static_cast<float>(r.lo + k * width);
                const std::vector<float> values = {r.lo,
                                                   r.hi,
                                                   std::nextafter(edge, -INFINITY),
                                                   edge,
                                                   std::nextafter(edge, INFINITY)};
                std::vector<float> x;
                for (int rep = 0; rep < 16; ++rep) {
                    for (const float v : values) {
                        x.push_back(std::clamp(v, r.lo, r.hi));
                    }
                }
                const auto cols = static_cast<std::int64_t>(x.size());
                for (const FakeQuantParams* params :
                     {&p, static_cast<const FakeQuantParams*>(nullptr)}) {
                    QuantStats a, b;
                    std::vector<std::int64_t> ua(bins), ub(bins), sa(256), sb(256);
                    ASSERT_EQ(
                        quant_stats_ref(x.data(), 1, cols, params, spec, &a, ua.data(), sa.data()),
                        Status::kOk);
                    ASSERT_EQ(quant_stats_cpu_parallel(
                                  x.data(), 1, cols, params, spec, &b, ub.data(), sb.data(), 2),
                              Status::kOk);
                    ASSERT_EQ(ua, ub) << "range [" << r.lo << ", " << r.hi << "], " << bins
                                      << " bins, edge " << k << (params ? ", quantized" : "");
                }
            }
        }
    }
}

TEST(QuantStatsArgs, RejectsBadRequests) {
    const std::vector<float> x(12, 1.0f);
    QuantStats s;
    std::vector<std::int64_t> uniform(64), second(256);
    FakeQuantParams p;
    p.bits = 9;
    EXPECT_EQ(quant_stats_ref(x.data(), 3, 4, &p, {}, &s, uniform.data(), second.data()),
              Status::kBadArgument);
    p.bits = 8;
    p.granularity = Granularity::kPerGroup;
    p.group_size = 3;
    EXPECT_EQ(quant_stats_cpu_parallel(x.data(), 3, 4, &p, {}, &s, uniform.data(), second.data()),
              Status::kBadShape);
    QuantStatsSpec spec;
    spec.uniform_bins = 0;
    EXPECT_EQ(quant_stats_ref(x.data(), 3, 4, nullptr, spec, &s, uniform.data(), second.data()),
              Status::kBadArgument);
    EXPECT_EQ(quant_stats_cpu_parallel(
                  x.data(), 3, 4, nullptr, {}, nullptr, uniform.data(), second.data()),
              Status::kBadArgument);
}

TEST(QuantStatsArgs, ResultBlockSizeIsAlignedAndHoldsBothHistograms) {
    QuantStatsSpec spec;
    spec.uniform_bins = 5;
    FakeQuantParams p;
    p.bits = 3;
    const std::size_t bytes = quant_stats_result_bytes(spec, &p);
    EXPECT_EQ(bytes % kQuantStatsResultAlign, 0u);
    EXPECT_GE(bytes, 128u + 8u * (5u + 8u));
    EXPECT_EQ(quant_stats_second_bins(spec, &p), 8);
    EXPECT_EQ(quant_stats_second_bins(spec, nullptr),
              spec.log2_max_exponent - spec.log2_min_exponent + 1);
}

}  // namespace
}  // namespace lowbit::kernels
