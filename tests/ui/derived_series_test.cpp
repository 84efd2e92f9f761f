// The derived series against values worked out by hand: the difference and the ratio to a
// baseline at exactly matching steps, the EMA with its own weight (debiased), the derivative of
// y = 3x² by central differences inside and one-sided differences at the ends.
#include "charts/derived_series.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace lowbit::ui {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// x = step here; the kinds that match runs match by step whatever x is.
SeriesPoints series(const std::vector<int64_t>& steps, const std::vector<double>& y) {
    SeriesPoints points;
    points.steps = steps;
    for (int64_t s : steps) {
        points.x.push_back(static_cast<double>(s) * 10);  // tokens = 10 per step
    }
    points.y = y;
    return points;
}

TEST(DerivedSeries, DifferenceAndRatioAtMatchingStepsOnly) {
    // Baseline at steps 1, 2, 4, 5, 6; the run at 1..5 with a NaN at 5. Shared finite steps: 1,
    // 2, 4 (3: no baseline point; 5: NaN in the run; 6: no run point).
    const SeriesPoints baseline = series({1, 2, 4, 5, 6}, {4.0, 3.0, 2.0, 1.5, 1.0});
    const SeriesPoints run = series({1, 2, 3, 4, 5}, {5.0, 3.5, 3.0, 2.5, kNan});
    const SeriesPoints diff = difference_to_baseline(run, baseline);
    // 5 − 4 = 1, 3.5 − 3 = 0.5, 2.5 − 2 = 0.5
    ASSERT_EQ(diff.steps, (std::vector<int64_t>{1, 2, 4}));
    EXPECT_EQ(diff.x, (std::vector<double>{10, 20, 40}));
    EXPECT_DOUBLE_EQ(diff.y[0], 1.0);
    EXPECT_DOUBLE_EQ(diff.y[1], 0.5);
    EXPECT_DOUBLE_EQ(diff.y[2], 0.5);
    const SeriesPoints ratio = ratio_to_baseline(run, baseline);
    // 5 / 4 = 1.25, 3.5 / 3 = 7/6, 2.5 / 2 = 1.25
    ASSERT_EQ(ratio.steps, (std::vector<int64_t>{1, 2, 4}));
    EXPECT_DOUBLE_EQ(ratio.y[0], 1.25);
    EXPECT_DOUBLE_EQ(ratio.y[1], 7.0 / 6.0);
    EXPECT_DOUBLE_EQ(ratio.y[2], 1.25);
}

TEST(DerivedSeries, RatioLeavesOutAZeroBaseline) {
    const SeriesPoints baseline = series({1, 2}, {0.0, 2.0});
    const SeriesPoints run = series({1, 2}, {1.0, 3.0});
    const SeriesPoints ratio = ratio_to_baseline(run, baseline);
    ASSERT_EQ(ratio.steps, (std::vector<int64_t>{2}));
    EXPECT_DOUBLE_EQ(ratio.y[0], 1.5);
}

TEST(DerivedSeries, EmaUsesItsOwnWeightDebiased) {
    // w = 0.5 over 1, 2, NaN, 4: a = 0.5·a + 0.5·y over the finite points, divided by 1 − 0.5ⁿ:
    //   0.5 / 0.5 = 1;  (0.25 + 1) / 0.75 = 5/3;  NaN left out;  (0.625 + 2) / 0.875 = 3
    const SeriesPoints ema = ema_series(series({1, 2, 3, 4}, {1, 2, kNan, 4}), 0.5);
    ASSERT_EQ(ema.steps, (std::vector<int64_t>{1, 2, 4}));
    EXPECT_DOUBLE_EQ(ema.y[0], 1.0);
    EXPECT_DOUBLE_EQ(ema.y[1], 5.0 / 3.0);
    EXPECT_DOUBLE_EQ(ema.y[2], 3.0);
    // w = 0.9: 0.1·1 / 0.1 = 1; (0.09 + 0.2) / 0.19 = 29/19
    const SeriesPoints heavy = ema_series(series({1, 2}, {1, 2}), 0.9);
    EXPECT_NEAR(heavy.y[1], 29.0 / 19.0, 1e-12);
}

TEST(DerivedSeries, DerivativeOfThreeXSquared) {
    // y = 3x² at x = 0, 1, 2, 4 (uneven spacing): y = 0, 3, 12, 48; dy/dx = 6x.
    //   x=0 forward:  (3 − 0) / (1 − 0)   = 3    (exact 0: one-sided error 3h)
    //   x=1 central:  (12 − 0) / (2 − 0)  = 6    (exact 6: central is exact for a quadratic
    //                                             on even spacing)
    //   x=2 central:  (48 − 3) / (4 − 1)  = 15   (exact 12: the spacing is uneven)
    //   x=4 backward: (48 − 12) / (4 − 2) = 18   (exact 24)
    SeriesPoints points;
    points.steps = {1, 2, 3, 4};
    points.x = {0, 1, 2, 4};
    points.y = {0, 3, 12, 48};
    const SeriesPoints d = derivative_series(points);
    ASSERT_EQ(d.x, (std::vector<double>{0, 1, 2, 4}));
    EXPECT_DOUBLE_EQ(d.y[0], 3);
    EXPECT_DOUBLE_EQ(d.y[1], 6);
    EXPECT_DOUBLE_EQ(d.y[2], 15);
    EXPECT_DOUBLE_EQ(d.y[3], 18);
}

TEST(DerivedSeries, DerivativeSkipsNonFinitePointsAndNeedsTwo) {
    // y = 2x with a NaN at x = 1: the finite points 0, 2, 3 give slope 2 everywhere.
    SeriesPoints points;
    points.steps = {1, 2, 3, 4};
    points.x = {0, 1, 2, 3};
    points.y = {0, kNan, 4, 6};
    const SeriesPoints d = derivative_series(points);
    ASSERT_EQ(d.x, (std::vector<double>{0, 2, 3}));
    for (double slope : d.y) {
        EXPECT_DOUBLE_EQ(slope, 2.0);
    }
    SeriesPoints one;
    one.steps = {1};
    one.x = {0};
    one.y = {1};
    EXPECT_EQ(derivative_series(one).size(), 0u);
}

TEST(DerivedSeries, KindsWithoutABaselineAreEmptyAndNamesRoundTrip) {
    const SeriesPoints run = series({1, 2}, {1, 2});
    EXPECT_EQ(derive({DerivedKind::kDifference, 0}, run, nullptr).size(), 0u);
    EXPECT_EQ(derive({DerivedKind::kRatio, 0}, run, nullptr).size(), 0u);
    EXPECT_EQ(derive({DerivedKind::kEma, 0.5}, run, nullptr).size(), 2u);
    for (auto kind : {DerivedKind::kDifference,
                      DerivedKind::kRatio,
                      DerivedKind::kEma,
                      DerivedKind::kDerivative}) {
        EXPECT_EQ(derived_kind_from_name(derived_kind_name(kind)), kind);
    }
    EXPECT_FALSE(derived_kind_from_name("integral").has_value());
}

}  // namespace
}  // namespace lowbit::ui
