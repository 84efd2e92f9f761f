// The charts' arithmetic: TensorBoard's debiased EMA on a series worked out by hand (with a NaN),
// the per-pixel-column decimation keeping a one-point spike among 100,000 points, and a fork's
// curve continuing its parent's up to the fork step.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "charts/chart_series_builder.h"
#include "charts/decimation.h"
#include "charts/ema_smoothing.h"

namespace lowbit::ui {
namespace {

TEST(EmaSmoothing, DebiasedEmaMatchesHandWorkedSeriesWithNan) {
    // w = 0.5 over 1, 2, NaN, 4. last = 0.5*last + 0.5*y over the finite points only:
    //   0.5 / (1 - 0.5)      = 1
    //   1.25 / (1 - 0.25)    = 5/3
    //   NaN passes through, not fed in
    //   2.625 / (1 - 0.125)  = 3
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> y = {1, 2, nan, 4};
    const auto s = smooth_debiased_ema(y, 0.5);
    ASSERT_EQ(s.size(), 4u);
    EXPECT_DOUBLE_EQ(s[0], 1.0);
    EXPECT_DOUBLE_EQ(s[1], 5.0 / 3.0);
    EXPECT_TRUE(std::isnan(s[2]));
    EXPECT_DOUBLE_EQ(s[3], 3.0);
}

TEST(EmaSmoothing, DefaultWeightOnAStepMatchesTheClosedForm) {
    // y = 0 then 1 forever: after n points, with k = n - 1 ones, the debiased EMA is
    // (1 - w^k) * (1 - w) * ... = (sum over the ones of (1-w) w^j) / (1 - w^n) = (1 - w^k)/(1 -
    // w^n).
    const double w = 0.6;
    std::vector<double> y(10, 1.0);
    y[0] = 0.0;
    const auto s = smooth_debiased_ema(y, w);
    for (size_t n = 1; n <= y.size(); ++n) {
        const double k = static_cast<double>(n - 1);
        const double expected = (1 - std::pow(w, k)) / (1 - std::pow(w, static_cast<double>(n)));
        EXPECT_NEAR(s[n - 1], expected, 1e-12) << "n = " << n;
    }
}

TEST(EmaSmoothing, ConstantSeriesAndZeroWeightAreUnchanged) {
    const std::vector<double> constant = {0.1, 0.1, 0.1};
    EXPECT_EQ(smooth_debiased_ema(constant, 0.9), constant);
    const std::vector<double> y = {3, 1, 2};
    EXPECT_EQ(smooth_debiased_ema(y, 0.0), y);
}

TEST(Decimation, SpikeAmong100000PointsSurvivesWithFirstAndLast) {
    const size_t n = 100000;
    const size_t spike = 54321;
    const size_t dip = 77777;
    std::vector<double> x(n);
    std::vector<double> y(n);
    for (size_t i = 0; i < n; ++i) {
        x[i] = static_cast<double>(i);
        y[i] = 2.0 + 0.01 * std::sin(static_cast<double>(i) * 0.1);
    }
    y[spike] = 1000.0;
    y[dip] = -50.0;
    const int columns = 800;
    const auto kept = decimate_min_max_last(x, y, x.front(), x.back(), columns);
    EXPECT_LE(kept.size(), 3u * columns + 2);
    EXPECT_GE(kept.size(), static_cast<size_t>(columns));
    EXPECT_EQ(kept.front(), 0u);
    EXPECT_EQ(kept.back(), n - 1);
    double max_kept = -1e300;
    double min_kept = 1e300;
    for (size_t i : kept) {
        max_kept = std::max(max_kept, y[i]);
        min_kept = std::min(min_kept, y[i]);
    }
    EXPECT_EQ(max_kept, 1000.0);
    EXPECT_EQ(min_kept, -50.0);
}

TEST(Decimation, ZoomedRangeKeepsEveryPointAndItsNeighbours) {
    std::vector<double> x(100000);
    std::vector<double> y(100000, 1.0);
    for (size_t i = 0; i < x.size(); ++i) {
        x[i] = static_cast<double>(i);
    }
    const auto kept = decimate_min_max_last(x, y, 54000, 54100, 800);
    ASSERT_EQ(kept.size(), 101u + 2u);  // full resolution plus one point outside each end
    EXPECT_EQ(kept.front(), 53999u);
    EXPECT_EQ(kept.back(), 54101u);
}

TEST(Decimation, NonFinitePointsAreAlwaysKept) {
    std::vector<double> x(10000);
    std::vector<double> y(10000, 1.0);
    for (size_t i = 0; i < x.size(); ++i) {
        x[i] = static_cast<double>(i);
    }
    y[4242] = std::numeric_limits<double>::quiet_NaN();
    const auto kept = decimate_min_max_last(x, y, 0, 9999, 100);
    EXPECT_NE(std::find(kept.begin(), kept.end(), 4242u), kept.end());
}

TEST(ForkLineage, AForksCurveBeginsWithItsParentsUpToTheForkStep) {
    // Run 1 trains steps 1..10 (value 100 + step); run 2 forks it at step 6 and records its own
    // steps 6 (the evaluation at the fork step) to 9 (value 200 + step); run 3 forks run 2 at 8.
    std::vector<store::ScalarPoint> points;
    int64_t row = 0;
    auto add = [&](int64_t run, int64_t step, double value) {
        points.push_back({++row, run, "loss", step, step * 10, 0.0, value});
    };
    for (int64_t step = 1; step <= 10; ++step) {
        add(1, step, 100.0 + static_cast<double>(step));
    }
    for (int64_t step = 6; step <= 9; ++step) {
        add(2, step, 200.0 + static_cast<double>(step));
    }
    add(3, 9, 309.0);
    ChartSeriesBuilder builder;
    builder.add_scalars(points);
    ChartRequest request;
    request.smoothing = 0;
    auto drawn = [&](int64_t run) {
        std::vector<std::pair<double, double>> xy;
        const ChartData chart = builder.build("loss", {run}, request);  // owns the containers
        for (const auto& point : *chart.runs.at(0).raw) {
            xy.emplace_back(point.key, point.value);
        }
        return xy;
    };
    EXPECT_EQ(drawn(2).size(), 4u);  // no lineage given: its own points only
    builder.set_lineage({{2, {1, 6}}, {3, {2, 8}}});
    // Steps 1..5 of the parent, then the fork's own 6..9.
    const std::vector<std::pair<double, double>> fork = {
        {1, 101}, {2, 102}, {3, 103}, {4, 104}, {5, 105}, {6, 206}, {7, 207}, {8, 208}, {9, 209}};
    EXPECT_EQ(drawn(2), fork);
    // A fork of the fork: 1..5 from run 1, 6..8 from run 2, then its own step 9.
    const std::vector<std::pair<double, double>> grandchild = {
        {1, 101}, {2, 102}, {3, 103}, {4, 104}, {5, 105}, {6, 206}, {7, 207}, {8, 208}, {9, 309}};
    EXPECT_EQ(drawn(3), grandchild);
    // The parent itself is unchanged, and on the tokens axis the same points are drawn.
    EXPECT_EQ(drawn(1).size(), 10u);
    request.x_axis = XAxisKind::kTokens;
    EXPECT_EQ(drawn(2).front(), std::make_pair(10.0, 101.0));
}

}  // namespace
}  // namespace lowbit::ui
