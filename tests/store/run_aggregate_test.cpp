// Aggregation over seeds: configurations are recipes equal except seed and name; mean and sample
// sd of the final val/loss scalar over completed runs; diverged runs counted apart with the
// earliest step of their diverged events.
#include "lowbit/store/run_aggregate.h"

#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "store_test_util.h"

namespace lowbit::store {
namespace {

// Records a run in `ws` with a final val/loss scalar (completed runs) or a diverged event at
// `diverged_step`; returns its record as the reader lists it.
RunRecord record_run(Workspace& ws,
                     const std::string& name,
                     int bits,
                     uint64_t seed,
                     RunStatus status,
                     std::optional<double> val_loss,
                     std::optional<int64_t> diverged_step = std::nullopt) {
    RunWriter writer(ws);
    RunRecord run;
    run.name = name;
    run.recipe_json = R"({"name":")" + name + R"(","seed":)" + std::to_string(seed) +
                      R"(,"quant":{"weight":{"bits":)" + std::to_string(bits) + "}}}";
    const int64_t id = writer.create_run(run);
    if (val_loss) {
        // An earlier, higher value first: the aggregate must take the final one.
        writer.add_scalar({0, id, "val/loss", 10, 0, 0, *val_loss + 1.0});
        writer.add_scalar({0, id, "val/loss", 20, 0, 0, *val_loss});
    }
    if (diverged_step) {
        writer.add_event({0, id, *diverged_step, 0, "diverged", "loss is not finite"});
    }
    writer.set_status(id, status);
    writer.flush();
    return *RunReader(ws).find_run(id);
}

TEST(RunAggregateTest, GroupsSeedsOfOneConfigurationAndComputesMeanAndSampleSd) {
    test::TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    const auto diverged = RunStatus::kDiverged;
    const auto completed = RunStatus::kCompleted;
    std::vector<RunRecord> runs{
        record_run(ws, "p [bits=8 seed=1]", 8, 1, completed, 2.1),
        record_run(ws, "p [bits=8 seed=2]", 8, 2, completed, 1.9),
        record_run(ws, "p [bits=8 seed=3]", 8, 3, completed, 2.0),
        record_run(ws, "p [bits=4 seed=1]", 4, 1, completed, 2.5),
        record_run(ws, "p [bits=4 seed=2]", 4, 2, diverged, std::nullopt, 95),
        record_run(ws, "p [bits=4 seed=3]", 4, 3, diverged, std::nullopt, 812),
    };
    std::reverse(runs.begin(), runs.end());  // newest first, as RunReader::list_runs
    const auto aggregates = aggregate_over_seeds(RunReader(ws), runs);
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
    test::TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    const std::vector<RunRecord> runs{
        record_run(ws, "baseline [seed=1]", 32, 1, RunStatus::kRunning, std::nullopt),
        record_run(ws, "baseline [seed=2]", 32, 2, RunStatus::kCompleted, 1.0),
        record_run(ws, "other", 8, 1, RunStatus::kCompleted, std::nullopt),
    };
    const auto aggregates = aggregate_over_seeds(RunReader(ws), runs);
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
