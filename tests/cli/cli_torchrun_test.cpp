// `torchrun --standalone --nproc-per-node=2 --no-python lowbit train ...` (the set-up's venv):
// the ranks join torchrun's own store and produce exactly the run that `lowbit train
// --nproc-per-node 2` produces.
#include <gtest/gtest.h>

#include "distributed_cli_fixture.h"

namespace lowbit::testing {
namespace {
namespace fs = std::filesystem;

TEST_F(DistributedCliTest, TorchrunStartsTheSameJobAsTheLocalLauncher) {
    const fs::path recipe = gpt2_recipe("torchrun", 20, 20, kW8A8G8QuantizedAdam);
    ASSERT_EQ(train(recipe, dir_ / "local", 2).exit_code, 0);

    const fs::path workspace = dir_ / "torchrun";
    const ProcessResult result = run_process({LOWBIT_PYTHON,
                                              "-m",
                                              "torch.distributed.run",
                                              "--standalone",
                                              "--nproc-per-node=2",
                                              "--no-python",
                                              lowbit_exe(),
                                              "train",
                                              recipe.string(),
                                              "--progress",
                                              "none",
                                              "--workspace",
                                              workspace.string()});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(losses(workspace), losses(dir_ / "local"));
    EXPECT_TRUE(torch::equal(weights(workspace, 20), weights(dir_ / "local", 20)));
    const fs::path db = workspace / "runs.sqlite";
    EXPECT_EQ(query_int(db, "SELECT count(*) FROM runs"), 1);
    EXPECT_EQ(query_text(db, "SELECT json_extract(summary_json, '$.launcher') FROM runs"),
              "torchrun");
    EXPECT_EQ(query_int(db, "SELECT json_extract(summary_json, '$.world_size') FROM runs"), 2);
}

}  // namespace
}  // namespace lowbit::testing
