// Aggregation over seeds: configurations are recipes equal except seed and name; mean and sample
// sd over completed runs; diverged runs counted apart with the earliest divergence step.
#include "lowbit/store/run_aggregate.h"

#include <gtest/gtest.h>

#include <cmath>

namespace lowbit::store {
namespace {

RunRecord make_run(int64_t id,
                   const std::string& name,
                   int bits,
                   uint64_t seed,
                   RunStatus status,
                   const std::string& summary) {
    RunRecord run;
    run.id = id;
    run.name = name;
    run.status = status;
    run.created_at = 1000.0 + static_cast<double>(id);
    run.recipe_json = R"({"name":")" + name + R"(","seed":)" + std::to_string(seed) +
                      R"(,"quant":{"weight":{"bits":)" + std::to_string(bits) + "}}}";
    run.summary_json = summary;
    return run;
}

std::string val_summary(double loss) {
    return R"({"final":{"val/loss":)" + std::to_string(loss) + "}}";
}

TEST(RunAggregateTest, GroupsSeedsOfOneConfigurationAndComputesMeanAndSampleSd) {
    // Newest first, as RunReader::list_runs returns them.
    const std::vector<RunRecord> runs{
        make_run(6, "p [bits=4 seed=3]", 4, 3, RunStatus::kDiverged, R"({"diverged_at_step":812})"),
        make_run(5, "p [bits=4 seed=2]", 4, 2, RunStatus::kDiverged, R"({"diverged_at_step":95})"),
        make_run(4, "p [bits=4 seed=1]", 4, 1, RunStatus::kCompleted, val_summary(2.5)),
        make_run(3, "p [bits=8 seed=3]", 8, 3, RunStatus::kCompleted, val_summary(2.0)),
        make_run(2, "p [bits=8 seed=2]", 8, 2, RunStatus::kCompleted, val_summary(1.9)),
        make_run(1, "p [bits=8 seed=1]", 8, 1, RunStatus::kCompleted, val_summary(2.1)),
    };
    const auto aggregates = aggregate_over_seeds(runs);
    ASSERT_EQ(aggregates.size(), 2u);
    const SeedAggregate& w8 = aggregates[0];  // oldest configuration first
    EXPECT_EQ(w8.label, "p [bits=8]");
    EXPECT_EQ(w8.run_ids, (std::vector<int64_t>{1, 2, 3}));
    EXPECT_EQ(w8.seeds, (std::vector<uint64_t>{1, 2, 3}));
    EXPECT_EQ(w8.completed, 3);
    ASSERT_TRUE(w8.mean_val_loss && w8.sd_val_loss);
    EXPECT_NEAR(*w8.mean_val_loss, 2.0, 1e-12);
    // Sample sd of {2.1, 1.9, 2.0}: sqrt((0.01 + 0.01 + 0) / 2) = 0.1.
    EXPECT_NEAR(*w8.sd_val_loss, 0.1, 1e-12);

    const SeedAggregate& w4 = aggregates[1];
    EXPECT_EQ(w4.diverged, 2);
    EXPECT_EQ(w4.completed, 1);
    EXPECT_EQ(w4.earliest_divergence_step, 95);
    ASSERT_TRUE(w4.mean_val_loss);
    EXPECT_NEAR(*w4.mean_val_loss, 2.5, 1e-12);
    EXPECT_FALSE(w4.sd_val_loss) << "one value has no sample sd";

    const std::string markdown = format_seed_table(aggregates, true);
    EXPECT_NE(markdown.find("| p [bits=8] | 3 | 0 | 2.0000 ± 0.1000 |"), std::string::npos)
        << markdown;
    EXPECT_NE(markdown.find("| p [bits=4] | 3 | 2 (from step 95) | 2.5000 (n=1) |"),
              std::string::npos)
        << markdown;
}

TEST(RunAggregateTest, PlainNamesWithoutBracketsAndDifferentRecipesStayApart) {
    const std::vector<RunRecord> runs{
        make_run(2, "baseline [seed=2]", 32, 2, RunStatus::kCompleted, val_summary(1.0)),
        make_run(1, "baseline [seed=1]", 32, 1, RunStatus::kRunning, "{}"),
        make_run(3, "other", 8, 1, RunStatus::kCompleted, "not json"),
    };
    const auto aggregates = aggregate_over_seeds(runs);
    ASSERT_EQ(aggregates.size(), 2u);
    EXPECT_EQ(aggregates[0].label, "baseline");
    EXPECT_EQ(aggregates[0].other, 1);
    EXPECT_EQ(aggregates[0].with_val_loss, 1);
    EXPECT_EQ(aggregates[1].label, "other");
    EXPECT_FALSE(aggregates[1].mean_val_loss);
    const std::string text = format_seed_table(aggregates, false);
    EXPECT_NE(text.find("CONFIGURATION"), std::string::npos);
    EXPECT_NE(text.find("1.0000 (n=1)"), std::string::npos) << text;
}

}  // namespace
}  // namespace lowbit::store
