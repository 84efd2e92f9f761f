// TelemetrySchedule: logging steps from telemetry.every and telemetry.steps, and kinds.
#include "lowbit/telemetry/telemetry_schedule.h"

#include <gtest/gtest.h>

namespace lowbit::telemetry {
namespace {

TEST(TelemetrySchedule, EveryAndExtraSteps) {
    config::TelemetrySpec spec;
    spec.every = 10;
    spec.steps = {1, 15};
    const TelemetrySchedule s(spec);
    EXPECT_TRUE(s.due(1));
    EXPECT_FALSE(s.due(2));
    EXPECT_TRUE(s.due(10));
    EXPECT_TRUE(s.due(15));
    EXPECT_TRUE(s.due(20));
    EXPECT_FALSE(s.due(0));
    spec.every = 0;  // off except the listed steps
    const TelemetrySchedule listed(spec);
    EXPECT_FALSE(listed.due(10));
    EXPECT_TRUE(listed.due(15));
}

TEST(TelemetrySchedule, KindsAndBins) {
    config::TelemetrySpec spec;
    for (const TensorKind kind : kAllTensorKinds) {
        EXPECT_TRUE(TelemetrySchedule(spec).records(kind)) << "empty list records all";
        EXPECT_EQ(tensor_kind_from_string(to_string(kind)), kind);
    }
    EXPECT_EQ(tensor_kind_from_string("weights"), std::nullopt);
    spec.kinds = {"weight", "optim_v"};
    spec.bins = 17;
    const TelemetrySchedule s(spec);
    EXPECT_TRUE(s.records(TensorKind::kWeight));
    EXPECT_TRUE(s.records(TensorKind::kOptimV));
    EXPECT_FALSE(s.records(TensorKind::kActivation));
    EXPECT_EQ(s.stats_spec().uniform_bins, 17);
}

}  // namespace
}  // namespace lowbit::telemetry
