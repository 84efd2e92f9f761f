// `train.rows_per_pass` through the real CLI (docs/training.md §Passes): one process taking its
// batch in passes trains the update of the whole batch at once, and a value that does not divide
// the batch is refused before the workspace is touched. The bits shared with data-parallel ranks
// are tested in cli_distributed_test.cpp.
#include <gtest/gtest.h>

#include "distributed_cli_fixture.h"

namespace lowbit::testing {
namespace {
namespace fs = std::filesystem;

constexpr int kSteps = 20;

TEST_F(DistributedCliTest, ThreePassesOfFourRowsTrainTheWholeBatchsUpdateInFloat32) {
    const fs::path recipe = gpt2_recipe("fp32", kSteps, kSteps, "");
    ASSERT_EQ(train(recipe, dir_ / "whole", 0).exit_code, 0);
    const ProcessResult passes =
        train(recipe, dir_ / "passes", 0, {"--set", "train.rows_per_pass=4"});
    ASSERT_EQ(passes.exit_code, 0) << passes.err;

    // The mean of three 4-row means of the same 12 rows is their mean: only the order of the
    // float sums over rows differs, as between one and two ranks (float32 rounding, far below
    // 1e-5 after 20 steps). Validation at steps 0 and 20.
    const double weight_deviation =
        expect_same_training(dir_ / "whole", dir_ / "passes", kSteps, 2, 1e-5);
    // A sum of three passes that were not divided by three would move the weights by far more.
    EXPECT_GT(weight_deviation, 0.0) << "the passes ran as one";
}

TEST_F(DistributedCliTest, RowsPerPassThatDoNotDivideAShareAreRefused) {
    const fs::path recipe = gpt2_recipe("bad-passes", 10, 10, "");
    const ProcessResult refused =
        train(recipe, dir_ / "bad", 0, {"--set", "train.rows_per_pass=5"});
    EXPECT_EQ(refused.exit_code, 2) << refused.err;
    EXPECT_NE(refused.err.find("train.rows_per_pass 5 does not divide the 12 rows"),
              std::string::npos)
        << refused.err;
    EXPECT_EQ(query_int(dir_ / "bad" / "runs.sqlite", "SELECT count(*) FROM runs"), 0);

    // 4 divides one process's 12 rows but not the 6 of each of two ranks.
    const ProcessResult ranks =
        train(recipe, dir_ / "ranks", 2, {"--set", "train.rows_per_pass=4"});
    EXPECT_EQ(ranks.exit_code, 2) << ranks.err;
    EXPECT_NE(ranks.err.find("train.rows_per_pass 4 does not divide the 6 rows"), std::string::npos)
        << ranks.err;
}

}  // namespace
}  // namespace lowbit::testing
