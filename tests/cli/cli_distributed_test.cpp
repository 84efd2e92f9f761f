// Data-parallel training through the real CLI (docs/distributed.md): two Gloo ranks at half the
// batch each against one process with the whole batch, at once and in two passes (resumed from
// the ranks' checkpoint too); Slurm's variables; a rank killed with
// SIGKILL; SIGTERM to the launcher; resume on the same and on another world size; bad input on
// rank 0. Every run is the presets' tiny GPT-2 at one thread per rank (data-parallel `lowbit qat`
// is tested with the other qat runs, in cli_qat_test.cpp).
#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "distributed_cli_fixture.h"

namespace lowbit::testing {
namespace {
namespace fs = std::filesystem;

constexpr int kSteps = 50;

TEST_F(DistributedCliTest, TwoRanksMatchOneRankWithTheWholeBatchInFloat32) {
    const fs::path recipe = gpt2_recipe("fp32", kSteps, kSteps, "");
    const ProcessResult one = train(recipe, dir_ / "one", 0);
    ASSERT_EQ(one.exit_code, 0) << one.err;
    const ProcessResult two = train(recipe, dir_ / "two", 2);
    ASSERT_EQ(two.exit_code, 0) << two.err;

    // Only the order of float sums over the batch rows differs (per rank, then across ranks).
    // Evaluation too is split by rows (each rank its half of every validation batch), at steps
    // 0, 25 and 50.
    expect_same_training(dir_ / "one", dir_ / "two", kSteps, 3, 1e-5);
}

TEST_F(DistributedCliTest, TwoRanksWithW8A8G8AndQuantizedAdamDeviateNoMoreThanAThreadCountChange) {
    const fs::path recipe = gpt2_recipe("w8a8g8", kSteps, kSteps, kW8A8G8QuantizedAdam);
    ASSERT_EQ(train(recipe, dir_ / "one", 0).exit_code, 0);
    const ProcessResult two = train(recipe, dir_ / "two", 2);
    ASSERT_EQ(two.exit_code, 0) << two.err;

    // One run, recorded once, by rank 0, which says how it ran.
    const fs::path db = dir_ / "two" / "runs.sqlite";
    EXPECT_EQ(query_int(db, "SELECT count(*) FROM runs"), 1);
    EXPECT_EQ(query_int(db, "SELECT json_extract(summary_json, '$.world_size') FROM runs"), 2);
    // CPU tensors: the gradients went through Gloo.
    EXPECT_EQ(
        query_text(db, "SELECT json_extract(summary_json, '$.gradient_collectives') FROM runs"),
        "gloo");
    EXPECT_EQ(query_int(db, "SELECT count(*) FROM scalars WHERE key = 'train/loss'"), kSteps);
    EXPECT_EQ(query_int(db, "SELECT count(*) FROM checkpoints"), 1);
    EXPECT_EQ(query_text(db, "SELECT status FROM runs"), "completed");
    // The same single-process run at 2 threads: only the order of float sums changes, as between
    // one and two ranks. Rounding to an 8-bit grid (of W, X, G and the stored moments) turns such
    // last-bit differences into whole grid steps now and then, and those grow with training
    // (docs/distributed.md §Exactness); that growth is the yardstick here.
    const fs::path threads2 = gpt2_recipe("w8a8g8-2threads", kSteps, kSteps, kW8A8G8QuantizedAdam);
    {
        std::string text = read_file(threads2.string());
        text.replace(text.find("threads: 1"), 10, "threads: 2");
        write_file("w8a8g8-2threads.yaml", text);
    }
    ASSERT_EQ(train(threads2, dir_ / "threads2", 0).exit_code, 0);

    const std::vector<double> one_losses = losses(dir_ / "one");
    const std::vector<double> two_losses = losses(dir_ / "two");
    ASSERT_EQ(one_losses.size(), static_cast<std::size_t>(kSteps));
    ASSERT_EQ(two_losses.size(), one_losses.size());
    // Step 1 starts from the same weights: float rounding only.
    EXPECT_LT(std::fabs(one_losses[0] - two_losses[0]) / one_losses[0], 1e-6);
    const double rank_deviation = max_relative_deviation(one_losses, two_losses);
    const double thread_deviation = max_relative_deviation(one_losses, losses(dir_ / "threads2"));
    EXPECT_LT(rank_deviation, std::max(1e-5, 4 * thread_deviation))
        << "ranks " << rank_deviation << ", threads " << thread_deviation;
    EXPECT_LT(rank_deviation, 1e-3);
    const double weight_deviation =
        relative_deviation(weights(dir_ / "one", kSteps), weights(dir_ / "two", kSteps));
    const double thread_weight_deviation =
        relative_deviation(weights(dir_ / "one", kSteps), weights(dir_ / "threads2", kSteps));
    EXPECT_LT(weight_deviation, std::max(1e-5, 4 * thread_weight_deviation))
        << "ranks " << weight_deviation << ", threads " << thread_weight_deviation;
}

TEST_F(DistributedCliTest, OneProcessInTwoPassesTrainsAndResumesTheBitsOfTwoRanks) {
    // Six rows per pass: the whole share of each of two ranks, half the batch of one process.
    const fs::path recipe = gpt2_recipe("w8a8g8-passes", kSteps, kSteps, kW8A8G8QuantizedAdam);
    const std::vector<std::string> passes = {"--set", "train.rows_per_pass=6"};
    const ProcessResult two = train(recipe, dir_ / "two", 2, passes);
    ASSERT_EQ(two.exit_code, 0) << two.err;
    const ProcessResult one = train(recipe, dir_ / "one", 0, passes);
    ASSERT_EQ(one.exit_code, 0) << one.err;
    // One run in the two ranks' workspace, written once, by rank 0.
    const fs::path two_db = dir_ / "two" / "runs.sqlite";
    EXPECT_EQ(query_int(two_db, "SELECT count(*) FROM runs"), 1);
    EXPECT_EQ(query_int(two_db, "SELECT json_extract(summary_json, '$.world_size') FROM runs"), 2);
    EXPECT_EQ(query_int(two_db, "SELECT count(*) FROM scalars WHERE key = 'train/loss'"), kSteps);

    // Each rank computes exactly what one process computes for the same six rows at the same
    // thread count; the two ranks' gradients are summed (a + b, one addition, as the second
    // pass's backward adds to the first's) and halved, exactly, by both (docs/training.md
    // §Passes). So no rounding boundary of the 8-bit grids is crossed differently: the weights
    // keep the same bits through 50 quantized steps.
    EXPECT_TRUE(torch::equal(weights(dir_ / "one", kSteps), weights(dir_ / "two", kSteps)));
    const std::vector<double> one_losses = losses(dir_ / "one");
    const std::vector<double> two_losses = losses(dir_ / "two");
    ASSERT_EQ(one_losses.size(), static_cast<std::size_t>(kSteps));
    ASSERT_EQ(two_losses.size(), one_losses.size());
    // The logged loss is the one figure that is summed differently: across ranks in float32 (it
    // rides with the gradients), across passes in float64. 2^-23 relative covers one float32
    // rounding of the sum.
    EXPECT_LT(max_relative_deviation(one_losses, two_losses), 0x1p-23);
    // Validation losses are summed in float64 either way, in the same order.
    EXPECT_EQ(losses(dir_ / "one", "val/loss"), losses(dir_ / "two", "val/loss"));

    // So a two-rank run stopped early and resumed on one process ends with the bits of the
    // uninterrupted two-rank run (docs/distributed.md §Resuming).
    const fs::path stopped = dir_ / "stopped";
    const ProcessResult stop = train_two_ranks_and_stop(recipe, stopped, 5, passes);
    ASSERT_EQ(stop.exit_code, 0) << stop.err;
    const fs::path db = stopped / "runs.sqlite";
    ASSERT_EQ(query_text(db, "SELECT status FROM runs WHERE id = 1"), "stopped");
    EXPECT_LT(query_int(db, "SELECT max(step) FROM checkpoints"), kSteps);
    const ProcessResult resumed = lowbit({"train", "--resume", "1", "--progress", "none"}, stopped);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(query_int(db, "SELECT json_extract(summary_json, '$.world_size') FROM runs"), 1);
    EXPECT_TRUE(torch::equal(weights(stopped, kSteps), weights(dir_ / "two", kSteps)));
}

TEST_F(DistributedCliTest, SlurmVariablesStartTheSameJobAsTheLocalLauncher) {
    const fs::path recipe = gpt2_recipe("slurm", 20, 20, kW8A8G8QuantizedAdam);
    ASSERT_EQ(train(recipe, dir_ / "local", 2).exit_code, 0);

    const std::string port = std::to_string(free_loopback_port());
    std::vector<std::vector<std::string>> environments;
    for (int rank = 0; rank < 2; ++rank) {
        environments.push_back({"SLURM_PROCID=" + std::to_string(rank),
                                "SLURM_NTASKS=2",
                                "SLURM_LOCALID=" + std::to_string(rank),
                                "MASTER_ADDR=127.0.0.1",
                                "MASTER_PORT=" + port});
    }
    const std::vector<BackgroundProcess> ranks = start_ranks(environments, recipe, dir_ / "slurm");
    for (const BackgroundProcess& rank : ranks) {
        const ProcessResult result = wait_process(rank);
        EXPECT_EQ(result.exit_code, 0) << result.err;
    }
    // The same ranks on the same rows: the same bits.
    EXPECT_EQ(losses(dir_ / "slurm"), losses(dir_ / "local"));
    const fs::path db = dir_ / "slurm" / "runs.sqlite";
    EXPECT_EQ(query_text(db, "SELECT json_extract(summary_json, '$.launcher') FROM runs"), "slurm");
    EXPECT_EQ(query_int(db, "SELECT count(*) FROM runs"), 1);
}

TEST_F(DistributedCliTest, AKilledRankFailsTheRunAndResumeReproducesTheUninterruptedRun) {
    const fs::path recipe = gpt2_recipe("killed", 60, 20, kW8A8G8QuantizedAdam);
    ASSERT_EQ(train(recipe, dir_ / "reference", 2).exit_code, 0);

    // Two ranks started by hand (torchrun's variables), so the test holds both pids.
    const fs::path workspace = dir_ / "killed";
    const std::string port = std::to_string(free_loopback_port());
    std::vector<std::vector<std::string>> environments;
    for (int rank = 0; rank < 2; ++rank) {
        environments.push_back({"RANK=" + std::to_string(rank),
                                "LOCAL_RANK=" + std::to_string(rank),
                                "WORLD_SIZE=2",
                                "MASTER_ADDR=127.0.0.1",
                                "MASTER_PORT=" + port});
    }
    const std::vector<BackgroundProcess> ranks =
        start_ranks(environments, recipe, workspace, {"--collective-timeout", "20"});
    ASSERT_TRUE(wait_for_first_checkpoint(workspace / "runs.sqlite", ranks[0].pid));
    kill(ranks[1].pid, SIGKILL);
    const auto killed_at = std::chrono::steady_clock::now();
    const ProcessResult rank0 = wait_process(ranks[0]);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
    wait_process(ranks[1]);
    ASSERT_NE(rank0.exit_code, 0) << "rank 0 finished before its peer was killed";
    EXPECT_LT(seconds, 20.0 + 10.0);  // the configured timeout, with room for a loaded machine
    EXPECT_NE(rank0.err.find("rank 0 of 2"), std::string::npos) << rank0.err;
    EXPECT_EQ(query_text(workspace / "runs.sqlite", "SELECT status FROM runs WHERE id = 1"),
              "failed");
    EXPECT_EQ(query_text(workspace / "runs.sqlite", "PRAGMA integrity_check"), "ok");

    const ProcessResult resumed = lowbit(
        {"train", "--resume", "1", "--progress", "none", "--nproc-per-node", "2"}, workspace);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(losses(workspace), losses(dir_ / "reference"));
    EXPECT_EQ(scalar_series(workspace / "runs.sqlite", "val/loss"),
              scalar_series(dir_ / "reference" / "runs.sqlite", "val/loss"));
    EXPECT_TRUE(torch::equal(weights(workspace, 60), weights(dir_ / "reference", 60)));
}

TEST_F(DistributedCliTest, SigtermToTheLauncherStopsEveryRankAtOneCheckpoint) {
    const fs::path recipe = gpt2_recipe("stopped", 120, 100, kW8A8G8QuantizedAdam);
    const fs::path workspace = dir_ / "stopped";
    const ProcessResult result = train_two_ranks_and_stop(recipe, workspace, 3);
    const fs::path db = workspace / "runs.sqlite";
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(query_text(db, "SELECT status FROM runs WHERE id = 1"), "stopped");
    const int64_t last_step =
        query_int(db, "SELECT max(step) FROM scalars WHERE key = 'train/loss'");
    EXPECT_LT(last_step, 100);  // stopped before the first regular checkpoint
    EXPECT_EQ(query_int(db, "SELECT max(step) FROM checkpoints"), last_step);

    // Resume on another world size: the global batch is the recipe's, so one process continues
    // the same run (docs/distributed.md §Resuming); a world size that does not divide the batch
    // is refused before anything is touched.
    const std::string before = dump_database(db);
    const ProcessResult refused = lowbit(
        {"train", "--resume", "1", "--progress", "none", "--nproc-per-node", "5"}, workspace);
    EXPECT_EQ(refused.exit_code, 2) << refused.err;
    EXPECT_NE(refused.err.find("does not split into 5"), std::string::npos) << refused.err;
    EXPECT_EQ(dump_database(db), before);
    const ProcessResult resumed =
        lowbit({"train", "--resume", "1", "--progress", "none"}, workspace);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(query_text(db, "SELECT status FROM runs WHERE id = 1"), "completed");
    EXPECT_EQ(query_int(db, "SELECT json_extract(summary_json, '$.world_size') FROM runs"), 1);
    EXPECT_EQ(query_int(db, "SELECT count(*) FROM scalars WHERE key = 'train/loss'"), 120);
}

TEST_F(DistributedCliTest, BadInputOnRankZeroEndsEveryRankWithoutARun) {
    const fs::path recipe = gpt2_recipe("bad", 10, 10, "");
    const ProcessResult result = train(
        recipe, dir_ / "bad", 2, {"--set", "train.batch_size=5", "--collective-timeout", "30"});
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_NE(result.err.find("train.batch_size 5 does not split into 2"), std::string::npos)
        << result.err;
    EXPECT_NE(result.err.find("rank 0 could not start the run"), std::string::npos) << result.err;
    EXPECT_EQ(query_int(dir_ / "bad" / "runs.sqlite", "SELECT count(*) FROM runs"), 0);
}

}  // namespace
}  // namespace lowbit::testing
