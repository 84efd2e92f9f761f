// `lowbit sweep`: the grid runs into one workspace group with one run per point and the varied
// values in each stored recipe; a bad axis is refused before any run starts; --dry-run runs
// nothing.
#include "lowbit/store/run_reader.h"
#include "lowbit/store/workspace.h"

#include <set>

#include "cli_fixture.h"
#include <nlohmann/json.hpp>

namespace lowbit::testing {
namespace {
namespace fs = std::filesystem;

using CliSweepTest = CliTest;

TEST_F(CliSweepTest, GridRunsEveryPointIntoOneGroup) {
    const fs::path recipe = write_file("tiny.yaml", tiny_recipe(3, 100));
    const fs::path workspace = dir_ / "ws";
    const ProcessResult result = lowbit({"sweep",
                                         recipe.string(),
                                         "--vary",
                                         "seed=1,2",
                                         "--vary",
                                         "train.lr=0.001,0.002",
                                         "--group",
                                         "grid-a",
                                         "--progress",
                                         "none"},
                                        workspace);
    ASSERT_EQ(result.exit_code, 0) << result.out << result.err;

    const store::Workspace opened = store::Workspace::open(workspace, store::OpenMode::kReadOnly);
    const store::RunReader reader(opened);
    const auto runs = reader.list_runs();
    ASSERT_EQ(runs.size(), 4u) << result.out;
    std::set<std::pair<uint64_t, double>> seen;
    for (const store::RunRecord& run : runs) {
        EXPECT_EQ(run.group_name, "grid-a");
        EXPECT_EQ(run.status, store::RunStatus::kCompleted) << run.name;
        EXPECT_NE(run.tags.find("sweep"), std::string::npos);
        const auto recipe_json = nlohmann::json::parse(run.recipe_json);
        const uint64_t seed = recipe_json["seed"].get<uint64_t>();
        const double lr = recipe_json["train"]["lr"].get<double>();
        seen.insert({seed, lr});
        // The name says which point it is.
        EXPECT_NE(run.name.find("seed=" + std::to_string(seed)), std::string::npos) << run.name;
    }
    const std::set<std::pair<uint64_t, double>> expected{
        {1, 0.001}, {1, 0.002}, {2, 0.001}, {2, 0.002}};
    EXPECT_EQ(seen, expected);

    // Two configurations (the learning rates) with two seeds each.
    const ProcessResult table = lowbit({"runs", "aggregate", "--group", "grid-a"}, workspace);
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_NE(table.out.find("tiny [train.lr=0.001]"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("tiny [train.lr=0.002]"), std::string::npos) << table.out;
    EXPECT_EQ(lowbit({"runs", "list", "--group", "no-such-group"}, workspace).exit_code, 2);
}

TEST_F(CliSweepTest, BadAxisIsRefusedBeforeAnyRun) {
    const fs::path recipe = write_file("tiny.yaml", tiny_recipe(3, 100));
    const fs::path workspace = dir_ / "ws";
    // The second value of a valid key is out of range: nothing may start, not even point 1.
    ProcessResult result =
        lowbit({"sweep", recipe.string(), "--vary", "train.lr=0.001,-1"}, workspace);
    EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
    EXPECT_NE(result.err.find("train.lr"), std::string::npos) << result.err;
    EXPECT_FALSE(fs::exists(workspace / "runs.sqlite"));

    result = lowbit({"sweep", recipe.string(), "--vary", "quant.weight.bitz=8,4"}, workspace);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_NE(result.err.find("bits"), std::string::npos)
        << "nearest key suggested: " << result.err;
    result = lowbit({"sweep", recipe.string(), "--vary", "seed"}, workspace);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_FALSE(fs::exists(workspace / "runs.sqlite"));
}

TEST_F(CliSweepTest, DryRunListsTheGridAndRunsNothing) {
    const fs::path recipe = write_file("tiny.yaml", tiny_recipe(3, 100));
    const fs::path workspace = dir_ / "ws";
    const ProcessResult result = lowbit({"sweep",
                                         recipe.string(),
                                         "--vary",
                                         "quant.weight.bits=8,4",
                                         "--vary",
                                         "seed=1,2,3",
                                         "--dry-run"},
                                        workspace);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find("6 runs"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("quant.weight.bits=4 seed=3"), std::string::npos) << result.out;
    EXPECT_FALSE(fs::exists(workspace / "runs.sqlite"));
}

}  // namespace
}  // namespace lowbit::testing
