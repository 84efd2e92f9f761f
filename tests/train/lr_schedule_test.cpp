// Learning-rate schedule: values worked out from the nanoGPT-style definition.
#include "lowbit/train/lr_schedule.h"

#include <gtest/gtest.h>

namespace lowbit::train {
namespace {

config::TrainSpec spec(config::Schedule schedule) {
    config::TrainSpec s;
    s.steps = 101;
    s.warmup_steps = 10;
    s.lr = 1.0;
    s.min_lr = 0.1;
    s.schedule = schedule;
    return s;
}

TEST(LrScheduleTest, WarmupRisesLinearlyToLr) {
    const auto s = spec(config::Schedule::kCosine);
    EXPECT_DOUBLE_EQ(learning_rate_at(0, s), 1.0 / 11.0);
    EXPECT_DOUBLE_EQ(learning_rate_at(9, s), 10.0 / 11.0);
    EXPECT_DOUBLE_EQ(learning_rate_at(10, s), 1.0);  // first decay step starts at lr
}

TEST(LrScheduleTest, CosineHitsMidpointAndMinimum) {
    const auto s = spec(config::Schedule::kCosine);
    // Decay spans steps 10..100 (90 steps); halfway (step 55) cos(pi/2) = 0 -> (lr + min) / 2.
    EXPECT_NEAR(learning_rate_at(55, s), 0.55, 1e-12);
    EXPECT_NEAR(learning_rate_at(100, s), 0.1, 1e-12);
    EXPECT_NEAR(learning_rate_at(500, s), 0.1, 1e-12);
}

TEST(LrScheduleTest, LinearAndConstant) {
    EXPECT_NEAR(learning_rate_at(55, spec(config::Schedule::kLinear)), 0.55, 1e-12);
    EXPECT_NEAR(learning_rate_at(100, spec(config::Schedule::kLinear)), 0.1, 1e-12);
    EXPECT_DOUBLE_EQ(learning_rate_at(100, spec(config::Schedule::kConstant)), 1.0);
}

}  // namespace
}  // namespace lowbit::train
