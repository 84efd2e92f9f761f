// `lowbit train --fork RUN[@STEP]` through the real CLI (CPU, fp32). The first step of a fork runs
// on the parent's weights at the fork step with the parent's batch and RNG state, so its loss is
// the parent's loss at that step, bit for bit, whatever the fork changes in the optimizer; a fork
// that changes nothing continues exactly as the parent did; refused forks leave the workspace as
// it was.
#include "cli_fixture.h"
#include <nlohmann/json.hpp>

namespace lowbit::testing {
namespace {
namespace fs = std::filesystem;

class CliForkTest : public CliTest {
protected:
    // A 12-step parent with checkpoints at steps 6 and 12 and a train/loss row at every step.
    void train_parent(const std::vector<std::string>& extra = {}) {
        const fs::path recipe = write_file("parent.yaml", tiny_recipe(12, 6));
        std::vector<std::string> args = {
            "train", recipe.string(), "--progress", "none", "--set", "train.log_every=1"};
        args.insert(args.end(), extra.begin(), extra.end());
        const ProcessResult result = lowbit(args, workspace());
        ASSERT_EQ(result.exit_code, 0) << result.err;
    }

    ProcessResult fork(std::vector<std::string> args) const {
        args.insert(args.begin(), {"train", "--progress", "none"});
        return lowbit(args, workspace());
    }

    fs::path workspace() const {
        return dir_ / "ws";
    }

    fs::path database() const {
        return workspace() / "runs.sqlite";
    }

    std::string loss(int64_t run, int64_t step) const {
        return query_rows(database(),
                          "SELECT value FROM scalars WHERE key = 'train/loss' AND run_id = " +
                              std::to_string(run) + " AND step = " + std::to_string(step));
    }

    int64_t state_bytes(int64_t run) const {
        const auto summary = nlohmann::json::parse(query_text(
            database(), "SELECT summary_json FROM runs WHERE id = " + std::to_string(run)));
        return summary.at("optimizer_state_bytes").get<int64_t>();
    }
};

TEST_F(CliForkTest, ForkStartsFromTheParentsWeightsAndChangesBitWidths) {
    train_parent();
    const ProcessResult forked = fork({"--fork", "tiny@6", "--set", "quant.optim_m.bits=8"});
    ASSERT_EQ(forked.exit_code, 0) << forked.err;

    // The lineage is recorded, and the fork starts at step 6: nothing of its own before.
    EXPECT_EQ(query_rows(database(), "SELECT parent_run_id, fork_step FROM runs WHERE id = 2"),
              "1 6 \n");  // query_rows ends each column with a space
    EXPECT_EQ(query_int(database(), "SELECT min(step) FROM scalars WHERE run_id = 2"), 6);
    EXPECT_EQ(query_rows(database(),
                         "SELECT step, kind FROM events WHERE run_id = 2 ORDER BY id LIMIT 1"),
              "6 started \n");
    // Step 7 runs the parent's step-6 weights on the parent's step-7 batch: the same loss, bit
    // for bit, and the same data position.
    ASSERT_FALSE(loss(1, 7).empty());
    EXPECT_EQ(loss(2, 7), loss(1, 7));
    EXPECT_EQ(query_int(database(),
                        "SELECT value FROM scalars WHERE run_id = 2 AND step = 7 AND "
                        "key = 'tokens'"),
              query_int(database(),
                        "SELECT value FROM scalars WHERE run_id = 1 AND step = 7 AND "
                        "key = 'tokens'"));
    // Step 7's update already used the 8-bit first moment, so step 8 differs from the parent.
    ASSERT_FALSE(loss(2, 8).empty());
    EXPECT_NE(loss(2, 8), loss(1, 8));
    // The fork's recipe has the new bit-width and its optimizer holds m in one byte per value:
    // the weight matrices dominate the parameters, so the state shrinks by well over a quarter
    // (float32 m and v: 8 bytes per parameter; 8-bit m and float32 v: 5 bytes).
    const auto recipe =
        nlohmann::json::parse(query_text(database(), "SELECT recipe_json FROM runs WHERE id = 2"));
    EXPECT_EQ(recipe.at("quant").at("optim_m").at("bits"), 8);
    EXPECT_LT(state_bytes(2), state_bytes(1) * 3 / 4);
    EXPECT_EQ(query_text(database(), "SELECT status FROM runs WHERE id = 2"), "completed");
}

TEST_F(CliForkTest, ForkWithTheParentsRecipeContinuesExactlyAsTheParent) {
    // Quantized first moments: an unchanged recipe copies the stored codes, so the fork repeats
    // the parent's steps 7..12 exactly, as a resume would.
    train_parent({"--set", "quant.optim_m.bits=4"});
    const ProcessResult forked = fork({"--fork", "1@6"});
    ASSERT_EQ(forked.exit_code, 0) << forked.err;
    const std::string after_fork =
        "SELECT step, value FROM scalars WHERE key = 'train/loss' AND step > 6 AND run_id = ";
    const std::string parent = query_rows(database(), after_fork + "1 ORDER BY step");
    EXPECT_EQ(query_rows(database(), after_fork + "2 ORDER BY step"), parent);
    EXPECT_NE(parent, "");
    // Into float32 moments (plain AdamW): the 4-bit codes are dequantized on the way in; the
    // first step still equals the parent's and the run completes.
    const ProcessResult to_float =
        fork({"--fork", "1@6", "--set", "quant.optim_m.bits=32", "--name", "float-moments"});
    ASSERT_EQ(to_float.exit_code, 0) << to_float.err;
    EXPECT_EQ(loss(3, 7), loss(1, 7));
    EXPECT_EQ(query_text(database(), "SELECT status FROM runs WHERE id = 3"), "completed");
}

TEST_F(CliForkTest, RefusedForksExplainAndLeaveTheWorkspaceAsItWas) {
    train_parent();
    // A run that diverges at its first steps has no checkpoint.
    const ProcessResult diverged = lowbit({"train",
                                           write_file("diverge.yaml", tiny_recipe(50, 50)).string(),
                                           "--progress",
                                           "none",
                                           "--name",
                                           "diverged",
                                           "--set",
                                           "train.lr=1e30",
                                           "--set",
                                           "train.min_lr=1e30",
                                           "--set",
                                           "train.grad_clip=0",
                                           "--set",
                                           "train.warmup_steps=0"},
                                          workspace());
    ASSERT_EQ(diverged.exit_code, 3) << diverged.err;
    const std::string database_before = dump_database(database());
    const std::string files_before = dump_files(workspace());

    struct Case {
        std::vector<std::string> args;
        std::string message;
    };

    const std::vector<Case> cases = {
        {{"--fork", "diverged"}, "run 2 ('diverged') has no checkpoint to fork from"},
        {{"--fork", "tiny@6", "--set", "model.d_model=64"},
         "the checkpoint's model does not match the fork's recipe (d_ff 128 there, 256 here, "
         "d_model 32 there, 64 here)"},
        {{"--fork", "tiny@5"},
         "run 1 ('tiny') has no checkpoint at step 5; its checkpoints are "
         "at steps 6, 12"},
        {{"--fork", "missing@6"}, "no run 'missing@6'"},
        {{"--fork", "tiny@6", "--set", "train.steps=6"}, "leaves nothing to train"},
        {{"--fork", "tiny", "--resume", "tiny"}, "cannot be combined with --resume"},
    };
    for (const Case& c : cases) {
        const ProcessResult result = fork(c.args);
        EXPECT_EQ(result.exit_code, 2) << c.args[1] << ": " << result.err;
        EXPECT_NE(result.err.find(c.message), std::string::npos) << result.err;
    }
    EXPECT_EQ(dump_database(database()), database_before);
    EXPECT_EQ(dump_files(workspace()), files_before);
}

}  // namespace
}  // namespace lowbit::testing
