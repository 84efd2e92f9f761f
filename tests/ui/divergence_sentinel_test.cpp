// The divergence sentinel's rules on synthetic series: a clean run raises nothing; a NaN, a loss
// spike just above k·sd, a gradient norm just above factor × median and a clipping quantizer each
// raise one alert, at the thresholds worked out by hand below.
#include "diagnose/divergence_sentinel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace lowbit::ui {
namespace {

store::ScalarPoint point(int64_t run, const char* key, int64_t step, double value) {
    store::ScalarPoint p;
    p.run_id = run;
    p.key = key;
    p.step = step;
    p.value = value;
    return p;
}

// 20 points alternating 1.0 and 1.2: mean 1.1, sample sd sqrt(20 · 0.01 / 19) = 0.10259784.
std::vector<store::ScalarPoint> alternating_losses(int64_t run) {
    std::vector<store::ScalarPoint> points;
    for (int64_t step = 1; step <= 20; ++step) {
        points.push_back(point(run, "train/loss", step, step % 2 ? 1.0 : 1.2));
    }
    return points;
}

TEST(DivergenceSentinel, CleanDecayingRunRaisesNothing) {
    // A loss decaying from 5 to 2 with ±0.02 wiggle, a gradient norm wandering in [0.8, 1.2],
    // every quantized tensor clipping 1%: no rule is broken.
    DivergenceSentinel sentinel;
    std::vector<store::ScalarPoint> points;
    for (int64_t step = 1; step <= 2000; ++step) {
        const double t = static_cast<double>(step);
        points.push_back(point(
            7, "train/loss", step, 2.0 + 3.0 * std::exp(-t / 300) + 0.02 * std::sin(1.7 * t)));
        points.push_back(point(7, "grad_norm", step, 1.0 + 0.2 * std::sin(0.3 * t)));
        points.push_back(point(7, "lr", step, 1e-3));
    }
    EXPECT_TRUE(sentinel.observe_scalars(points).empty());
    store::TensorStatsRecord stats;
    stats.run_id = 7;
    stats.quantizer = R"({"bits":8})";
    stats.clip_fraction = 0.01;
    stats.underflow_fraction = 0.9;  // the underflow rule is off by default
    EXPECT_TRUE(sentinel.observe_stats(std::vector{stats}).empty());
}

TEST(DivergenceSentinel, NanFiresOnceAtItsStep) {
    DivergenceSentinel sentinel;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<store::ScalarPoint> points = {point(3, "train/loss", 1, 2.0),
                                              point(3, "train/loss", 2, nan),
                                              point(3, "grad_norm", 2, nan),
                                              point(3, "train/loss", 3, nan)};
    const auto alarms = sentinel.observe_scalars(points);
    ASSERT_EQ(alarms.size(), 1u);
    EXPECT_EQ(alarms[0].rule, SentinelRule::kNonFinite);
    EXPECT_EQ(alarms[0].run_id, 3);
    EXPECT_EQ(alarms[0].step, 2);
    EXPECT_EQ(alarms[0].subject, "train/loss");
    EXPECT_EQ(alarms[0].message, "train/loss is NaN at step 2");
    // Another run is judged on its own.
    const double inf = std::numeric_limits<double>::infinity();
    const std::vector<store::ScalarPoint> other = {point(4, "grad_norm", 9, inf)};
    const auto more = sentinel.observe_scalars(other);
    ASSERT_EQ(more.size(), 1u);
    EXPECT_EQ(more[0].message, "grad_norm is infinite at step 9");
}

TEST(DivergenceSentinel, LossSpikeFiresJustAboveSixSd) {
    // limit = 1.1 + 6 · 0.10259784 = 1.7155870: 1.71 is below it, 1.72 above.
    const double limit = 1.1 + 6.0 * std::sqrt(0.2 / 19.0);
    ASSERT_NEAR(limit, 1.7155870, 1e-7);
    {
        DivergenceSentinel sentinel;
        auto points = alternating_losses(1);
        points.push_back(point(1, "train/loss", 21, 1.71));
        EXPECT_TRUE(sentinel.observe_scalars(points).empty());
    }
    DivergenceSentinel sentinel;
    auto points = alternating_losses(1);
    points.push_back(point(1, "train/loss", 21, 1.72));
    const auto alarms = sentinel.observe_scalars(points);
    ASSERT_EQ(alarms.size(), 1u);
    EXPECT_EQ(alarms[0].rule, SentinelRule::kLossSpike);
    EXPECT_EQ(alarms[0].step, 21);
    EXPECT_DOUBLE_EQ(alarms[0].value, 1.72);
    ASSERT_TRUE(alarms[0].threshold);
    EXPECT_NEAR(*alarms[0].threshold, limit, 1e-12);
}

TEST(DivergenceSentinel, FewerThanTenPointsJudgeNoSpike) {
    // Nine points, then a value a hundred times larger: too little history to call it a spike.
    DivergenceSentinel sentinel;
    std::vector<store::ScalarPoint> points;
    for (int64_t step = 1; step <= 9; ++step) {
        points.push_back(point(1, "train/loss", step, step % 2 ? 1.0 : 1.2));
    }
    points.push_back(point(1, "train/loss", 10, 100.0));
    EXPECT_TRUE(sentinel.observe_scalars(points).empty());
}

TEST(DivergenceSentinel, GradNormAboveTenTimesTheMedianFires) {
    // Window 1, 2, 3, ..., 11 with 2.0 appended nine times: sorted, the median of the 20 values is
    // the mean of the 10th and 11th, both 2.0 → limit 20. 19.9 passes, 20.1 fires.
    auto window = [] {
        std::vector<store::ScalarPoint> points;
        int64_t step = 0;
        for (int v = 1; v <= 11; ++v) {
            points.push_back(point(5, "grad_norm", ++step, v));
        }
        for (int i = 0; i < 9; ++i) {
            points.push_back(point(5, "grad_norm", ++step, 2.0));
        }
        return points;
    };
    {
        DivergenceSentinel sentinel;
        auto points = window();
        points.push_back(point(5, "grad_norm", 21, 19.9));
        EXPECT_TRUE(sentinel.observe_scalars(points).empty());
    }
    DivergenceSentinel sentinel;
    auto points = window();
    points.push_back(point(5, "grad_norm", 21, 20.1));
    const auto alarms = sentinel.observe_scalars(points);
    ASSERT_EQ(alarms.size(), 1u);
    EXPECT_EQ(alarms[0].rule, SentinelRule::kGradNormBlowup);
    ASSERT_TRUE(alarms[0].threshold);
    EXPECT_DOUBLE_EQ(*alarms[0].threshold, 20.0);
}

TEST(DivergenceSentinel, AResumedRunReplacesTheStepsAfterItsCheckpoint) {
    // Steps 1..20 alternate 1.0/1.2, then the run resumes from step 11 and records 11..20 again
    // as 1.1: the window is then 1.0/1.2 for 1..10 and 1.1 for 11..20 (mean 1.1, sd
    // sqrt(10 · 0.01 / 19) = 0.0725476), limit 1.1 + 6 sd = 1.5352858. Without the replacement
    // the window would hold both copies and a different limit.
    DivergenceSentinel sentinel;
    auto points = alternating_losses(2);
    for (int64_t step = 11; step <= 20; ++step) {
        points.push_back(point(2, "train/loss", step, 1.1));
    }
    points.push_back(point(2, "train/loss", 21, 1.54));
    const auto alarms = sentinel.observe_scalars(points);
    ASSERT_EQ(alarms.size(), 1u);
    ASSERT_TRUE(alarms[0].threshold);
    EXPECT_NEAR(*alarms[0].threshold, 1.1 + 6.0 * std::sqrt(0.1 / 19.0), 1e-12);
}

TEST(DivergenceSentinel, ClippingQuantizerFiresOnceAndUnquantizedTensorsAreSkipped) {
    DivergenceSentinel sentinel;
    store::TensorStatsRecord plain;
    plain.run_id = 1;
    plain.step = 100;
    plain.layer = "blocks.0.attn.qkv";
    plain.tensor_kind = "A";
    plain.clip_fraction = 0.9;  // not quantized: never judged
    store::TensorStatsRecord clipping = plain;
    clipping.quantizer = R"({"bits":4})";
    clipping.clip_fraction = 0.06;
    store::TensorStatsRecord again = clipping;
    again.step = 200;
    const auto alarms = sentinel.observe_stats(std::vector{plain, clipping, again});
    ASSERT_EQ(alarms.size(), 1u);
    EXPECT_EQ(alarms[0].rule, SentinelRule::kClip);
    EXPECT_EQ(alarms[0].step, 100);
    EXPECT_EQ(alarms[0].subject, "blocks.0.attn.qkv A");
    EXPECT_EQ(alarms[0].message,
              "blocks.0.attn.qkv A clips 6.0% of its values at step 100 "
              "(limit 5.0%)");
}

TEST(DivergenceSentinel, RulesSwitchedOffOrAlreadyFiredStaySilent) {
    SentinelRules rules;
    rules.non_finite = false;
    DivergenceSentinel sentinel(rules);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    EXPECT_TRUE(sentinel.observe_scalars(std::vector{point(1, "train/loss", 1, nan)}).empty());
    sentinel.set_rules({});
    sentinel.mark_fired(1, SentinelRule::kNonFinite);  // e.g. stored by an earlier session
    EXPECT_TRUE(sentinel.observe_scalars(std::vector{point(1, "train/loss", 2, nan)}).empty());
    sentinel.forget_run(1);
    EXPECT_EQ(sentinel.observe_scalars(std::vector{point(1, "train/loss", 3, nan)}).size(), 1u);
}

}  // namespace
}  // namespace lowbit::ui
