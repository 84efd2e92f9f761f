// The distributed: options through the real CLI on two Gloo ranks (docs/distributed.md
// §Sharded optimizer state, §Compressed gradients), the presets' tiny GPT-2 at one thread per
// rank: sharded optimizer state gives the unsharded run bit for bit, holds about half the state
// per rank, and takes a forked state share by share; bf16 and int8 gradients send the bytes their
// encodings say and keep the loss within a stated tolerance of exact averaging; a run with error
// feedback stopped by SIGTERM and resumed ends on the uninterrupted run's bits; a recipe asking
// for error feedback without an encoding is refused; per-tensor activation scales are pointed
// out once before a data-parallel run, per-token ones are not.
#include <gtest/gtest.h>

#include <cmath>

#include "distributed_cli_fixture.h"

namespace lowbit::testing {
namespace {
namespace fs = std::filesystem;

constexpr int kSteps = 40;

int64_t summary_int(const fs::path& workspace, const std::string& path, int run = 1) {
    return query_int(workspace / "runs.sqlite",
                     "SELECT json_extract(summary_json, '$." + path +
                         "') FROM runs WHERE id = " + std::to_string(run));
}

TEST_F(DistributedCliTest, ShardedOptimizerStateGivesTheUnshardedRunBitForBit) {
    const fs::path recipe = gpt2_recipe("sharded", kSteps, kSteps / 2, kW8A8G8QuantizedAdam);
    ASSERT_EQ(train(recipe, dir_ / "whole", 2).exit_code, 0);
    const ProcessResult sharded =
        train(recipe, dir_ / "sharded", 2, {"--set", "distributed.shard_optimizer_states=true"});
    ASSERT_EQ(sharded.exit_code, 0) << sharded.err;

    EXPECT_EQ(losses(dir_ / "sharded"), losses(dir_ / "whole"));
    EXPECT_EQ(scalar_series(dir_ / "sharded" / "runs.sqlite", "val/loss"),
              scalar_series(dir_ / "whole" / "runs.sqlite", "val/loss"));
    EXPECT_TRUE(torch::equal(weights(dir_ / "sharded", kSteps), weights(dir_ / "whole", kSteps)));
    // The checkpoint holds the complete state, gathered from both ranks.
    EXPECT_EQ(read_file((dir_ / "sharded" /
                         query_text(dir_ / "sharded" / "runs.sqlite",
                                    "SELECT path FROM checkpoints WHERE step "
                                    "= " +
                                        std::to_string(kSteps)) /
                         "optimizer.safetensors")
                            .string()),
              read_file((dir_ / "whole" /
                         query_text(dir_ / "whole" / "runs.sqlite",
                                    "SELECT path FROM checkpoints WHERE step "
                                    "= " +
                                        std::to_string(kSteps)) /
                         "optimizer.safetensors")
                            .string()));

    // Each rank holds its share; together they are the whole run's state.
    const int64_t whole = summary_int(dir_ / "whole", "optimizer_state_bytes");
    const int64_t rank0 = summary_int(dir_ / "sharded", "optimizer_state_bytes_per_rank[0]");
    const int64_t rank1 = summary_int(dir_ / "sharded", "optimizer_state_bytes_per_rank[1]");
    EXPECT_EQ(rank0 + rank1, whole);
    EXPECT_EQ(summary_int(dir_ / "sharded", "optimizer_state_bytes"), whole);
    EXPECT_EQ(summary_int(dir_ / "whole", "optimizer_state_bytes_per_rank[1]"), whole);
    EXPECT_LT(std::max(rank0, rank1), 0.55 * static_cast<double>(whole)) << rank0 << " " << rank1;

    // A fork at the middle checkpoint that only turns sharding on continues exactly as the
    // parent: rank 0 reads the parent's state and hands the other rank its share.
    const ProcessResult fork = lowbit({"train",
                                       "--fork",
                                       "1@" + std::to_string(kSteps / 2),
                                       "--set",
                                       "distributed.shard_optimizer_states=true",
                                       "--progress",
                                       "none",
                                       "--nproc-per-node",
                                       "2"},
                                      dir_ / "whole");
    ASSERT_EQ(fork.exit_code, 0) << fork.err;
    const std::string later = "SELECT value FROM scalars WHERE key = 'train/loss' AND run_id = ";
    EXPECT_EQ(query_text(dir_ / "whole" / "runs.sqlite",
                         "SELECT group_concat(value) FROM (" + later + "2 ORDER BY step)"),
              query_text(dir_ / "whole" / "runs.sqlite",
                         "SELECT group_concat(value) FROM (" + later + "1 AND step > " +
                             std::to_string(kSteps / 2) + " ORDER BY step)"));
}

// Relative deviation of the loss series: docs/distributed.md §Compressed gradients gives the
// tolerance and the measured values.
TEST_F(DistributedCliTest, EncodedGradientsSendFewerBytesAndStayWithinTolerance) {
    const fs::path recipe = gpt2_recipe("encoded", kSteps, kSteps, kW8A8G8QuantizedAdam);
    ASSERT_EQ(train(recipe, dir_ / "fp32", 2).exit_code, 0);
    const std::vector<double> exact = losses(dir_ / "fp32");
    const int64_t fp32_bytes = summary_int(dir_ / "fp32", "gradient_bytes_sent");
    ASSERT_GT(fp32_bytes, 0);

    struct Case {
        const char* name;
        std::vector<std::string> settings;
        double byte_ratio_low, byte_ratio_high;  // int8: codes plus a scale per 512 values
    };

    const std::vector<Case> cases = {
        {"bf16", {"distributed.gradient_allreduce=bf16"}, 0.5, 0.501},
        {"int8", {"distributed.gradient_allreduce=int8"}, 0.25, 0.2535},
        {"int8-feedback",
         {"distributed.gradient_allreduce=int8", "distributed.error_feedback=true"},
         0.25,
         0.2535},
    };
    for (const Case& c : cases) {
        std::vector<std::string> extra;
        for (const std::string& setting : c.settings) {
            extra.insert(extra.end(), {"--set", setting});
        }
        const fs::path workspace = dir_ / c.name;
        const ProcessResult result = train(recipe, workspace, 2, extra);
        ASSERT_EQ(result.exit_code, 0) << c.name << ": " << result.err;
        const double ratio =
            static_cast<double>(summary_int(workspace, "gradient_bytes_sent")) / fp32_bytes;
        EXPECT_GE(ratio, c.byte_ratio_low) << c.name;
        EXPECT_LE(ratio, c.byte_ratio_high) << c.name;
        const std::vector<double> got = losses(workspace);
        ASSERT_EQ(got.size(), exact.size());
        EXPECT_LT(max_relative_deviation(exact, got), 0.02) << c.name;
        EXPECT_EQ(query_text(workspace / "runs.sqlite", "SELECT status FROM runs"), "completed");
    }
    EXPECT_GT(summary_int(dir_ / "int8-feedback", "error_feedback_bytes"), 0);
}

TEST_F(DistributedCliTest, AnErrorFeedbackRunStoppedAndResumedEndsOnTheUninterruptedRunsBits) {
    constexpr int kRunSteps = 60;
    const fs::path recipe =
        gpt2_recipe("feedback-resume", kRunSteps, kRunSteps, kW8A8G8QuantizedAdam);
    const std::vector<std::string> feedback = {
        "--set", "distributed.gradient_allreduce=int8", "--set", "distributed.error_feedback=true"};
    ASSERT_EQ(train(recipe, dir_ / "reference", 2, feedback).exit_code, 0);

    const fs::path workspace = dir_ / "stopped";
    const ProcessResult stopped = train_two_ranks_and_stop(recipe, workspace, 5, feedback);
    const fs::path db = workspace / "runs.sqlite";
    ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
    ASSERT_EQ(query_text(db, "SELECT status FROM runs WHERE id = 1"), "stopped");
    const std::string checkpoint =
        query_text(db, "SELECT path FROM checkpoints ORDER BY step DESC LIMIT 1");
    ASSERT_LT(query_int(db, "SELECT max(step) FROM checkpoints"), kRunSteps);
    // Both ranks' memories are in the checkpoint.
    EXPECT_TRUE(fs::exists(workspace / checkpoint / "gradient_feedback.safetensors"));

    const ProcessResult resumed = lowbit(
        {"train", "--resume", "1", "--progress", "none", "--nproc-per-node", "2"}, workspace);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(losses(workspace), losses(dir_ / "reference"));
    EXPECT_TRUE(
        torch::equal(weights(workspace, kRunSteps), weights(dir_ / "reference", kRunSteps)));
}

TEST_F(DistributedCliTest, ErrorFeedbackWithoutAnEncodingIsRefused) {
    const fs::path recipe = gpt2_recipe("refused", 20, 20, "");
    const ProcessResult result =
        train(recipe, dir_ / "refused", 2, {"--set", "distributed.error_feedback=true"});
    EXPECT_EQ(result.exit_code, 2) << result.err;
    // Said once, by the launcher, before any rank starts.
    const std::string message = "needs an encoded gradient exchange";
    const std::size_t first = result.err.find(message);
    EXPECT_NE(first, std::string::npos) << result.err;
    EXPECT_EQ(result.err.find(message, first + 1), std::string::npos) << result.err;
    EXPECT_FALSE(fs::exists(dir_ / "refused" / "runs.sqlite") &&
                 query_int(dir_ / "refused" / "runs.sqlite", "SELECT count(*) FROM runs") > 0);
}

TEST_F(DistributedCliTest, ScalesTakenOverEachRanksRowsArePointedOutOnce) {
    const std::string note = "activation per_tensor scales are taken over each rank's rows";
    const fs::path per_tensor = gpt2_recipe("per-tensor",
                                            10,
                                            10,
                                            "  weight: {bits: 8, granularity: per_channel}\n"
                                            "  activation: {bits: 8, granularity: per_tensor}\n");
    const ProcessResult two = train(per_tensor, dir_ / "two", 2);
    ASSERT_EQ(two.exit_code, 0) << two.err;
    const std::size_t first = two.err.find(note);
    EXPECT_NE(first, std::string::npos) << two.err;
    EXPECT_EQ(two.err.find(note, first + 1), std::string::npos) << two.err;
    EXPECT_NE(two.err.find("2-rank run"), std::string::npos) << two.err;
    // One process computes the scale over the whole batch: nothing to point out.
    const ProcessResult one = train(per_tensor, dir_ / "one", 0);
    ASSERT_EQ(one.exit_code, 0) << one.err;
    EXPECT_EQ(one.err.find("note:"), std::string::npos) << one.err;
    // Per-token scales belong to one row each.
    const ProcessResult per_token =
        train(gpt2_recipe("per-token", 10, 10, kW8A8G8QuantizedAdam), dir_ / "per-token", 2);
    ASSERT_EQ(per_token.exit_code, 0) << per_token.err;
    EXPECT_EQ(per_token.err.find("note:"), std::string::npos) << per_token.err;
}

}  // namespace
}  // namespace lowbit::testing
