// Helpers shared by the kernels tests: deterministic random buffers with awkward contents
// (outliers, zero rows, NaN/Inf) and a bit-exact float comparison that names the first mismatch.
#pragma once

#include "lowbit/kernels/quant_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace lowbit::kernels::test {

/// Sums are accumulated in double in a different order (chunks / threads / atomics) than the
/// reference's single running sum. Recursive summation of n terms errs by at most (n-1)*u*sum|x|
/// with u = 2^-53 ~ 1.1e-16: 1.1e-10 for n ~ 1e6. 1e-9 leaves room for n up to ~1e7.
inline constexpr double kSumRelTolerance = 1e-9;

/// N(0, 1) values (x scale) with every 97th value an outlier of +-1e4.
inline std::vector<float> random_normal(std::int64_t n, std::uint64_t seed, float scale = 1.0f) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> x(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        x[static_cast<std::size_t>(i)] = dist(rng);
        if (i % 97 == 13) {
            x[static_cast<std::size_t>(i)] = (i % 2 == 0 ? 1e4f : -1e4f);
        }
    }
    return x;
}

/// Sets rows 0, 3, 6, ... of a (rows, cols) buffer to zero.
inline void zero_every_third_row(std::vector<float>& x, std::int64_t rows, std::int64_t cols) {
    for (std::int64_t r = 0; r < rows; r += 3) {
        for (std::int64_t c = 0; c < cols; ++c) {
            x[static_cast<std::size_t>(r * cols + c)] = 0.0f;
        }
    }
}

/// Sprinkles NaN, +Inf, -Inf, +0, -0 and subnormals at fixed strides.
inline void add_special_values(std::vector<float>& x) {
    for (std::size_t i = 0; i < x.size(); ++i) {
        switch (i % 101) {
            case 5:
                x[i] = std::numeric_limits<float>::quiet_NaN();
                break;
            case 17:
                x[i] = std::numeric_limits<float>::infinity();
                break;
            case 29:
                x[i] = -std::numeric_limits<float>::infinity();
                break;
            case 41:
                x[i] = 0.0f;
                break;
            case 53:
                x[i] = -0.0f;
                break;
            case 67:
                x[i] = std::numeric_limits<float>::denorm_min() * static_cast<float>(i % 1000);
                break;
            default:
                break;
        }
    }
}

inline std::uint32_t float_bits(float f) {
    std::uint32_t b;
    std::memcpy(&b, &f, sizeof(b));
    return b;
}

/// Same size and the same bits everywhere (so -0 != +0 and NaN == NaN of the same payload); with
/// nan_matches_nan a NaN also matches any NaN.
inline ::testing::AssertionResult same_bits(const std::vector<float>& expected,
                                            const std::vector<float>& actual,
                                            bool nan_matches_nan) {
    if (expected.size() != actual.size()) {
        return ::testing::AssertionFailure()
               << "size " << expected.size() << " vs " << actual.size();
    }
    for (std::size_t i = 0; i < expected.size(); ++i) {
        if (nan_matches_nan && std::isnan(expected[i]) && std::isnan(actual[i])) {
            continue;
        }
        if (float_bits(expected[i]) != float_bits(actual[i])) {
            return ::testing::AssertionFailure() << "first mismatch at index " << i << ": expected "
                                                 << expected[i] << " got " << actual[i];
        }
    }
    return ::testing::AssertionSuccess();
}

/// Bit-exact comparison.
inline ::testing::AssertionResult bits_equal(const std::vector<float>& expected,
                                             const std::vector<float>& actual) {
    return same_bits(expected, actual, false);
}

/// bits_equal, except that a NaN matches any NaN: IEEE leaves the sign and payload of a NaN
/// result unspecified (x86 keeps the first operand's), so two exact implementations may differ
/// there and nowhere else.
inline ::testing::AssertionResult bits_equal_or_both_nan(const std::vector<float>& expected,
                                                         const std::vector<float>& actual) {
    return same_bits(expected, actual, true);
}

inline double sum_abs(const std::vector<float>& x) {
    double s = 0.0;
    for (float v : x) {
        if (std::isfinite(v)) {
            s += std::fabs(static_cast<double>(v));
        }
    }
    return s;
}

/// The integer tallies of two statistics passes are equal (the counts every path must give
/// exactly; the double sums differ by rounding and are compared by the callers).
inline void expect_same_tallies(const QuantStats& expected, const QuantStats& actual) {
    EXPECT_EQ(expected.n, actual.n);
    EXPECT_EQ(expected.nan_count, actual.nan_count);
    EXPECT_EQ(expected.inf_count, actual.inf_count);
    EXPECT_EQ(expected.zero_count, actual.zero_count);
    EXPECT_EQ(expected.clipped_low, actual.clipped_low);
    EXPECT_EQ(expected.clipped_high, actual.clipped_high);
    EXPECT_EQ(expected.underflow_count, actual.underflow_count);
    EXPECT_EQ(expected.second_low, actual.second_low);
    EXPECT_EQ(expected.second_high, actual.second_high);
}

}  // namespace lowbit::kernels::test
