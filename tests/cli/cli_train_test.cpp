// Training through the real CLI: a run killed with SIGKILL after its first checkpoint and resumed
// ends bit for bit where an uninterrupted run ends (CPU, fp32) and leaves an intact database;
// SIGTERM stops gracefully; NaN/Inf ends the run as diverged with exit code 3; --progress jsonl
// emits one parseable object per step and per event.
#include "lowbit/events/run_event_json.h"

#include <sqlite3.h>

#include <chrono>
#include <csignal>
#include <sstream>
#include <thread>

#include "cli_fixture.h"
#include <nlohmann/json.hpp>

namespace lowbit::testing {
namespace {
namespace fs = std::filesystem;

class CliTrainTest : public CliTest {
protected:
    // Trains the reference run uninterrupted in its own workspace.
    void train_reference(const fs::path& recipe) {
        reference_ws_ = dir_ / "reference";
        const ProcessResult result =
            lowbit({"train", recipe.string(), "--progress", "none"}, reference_ws_);
        ASSERT_EQ(result.exit_code, 0) << result.err;
    }

    void expect_same_results_as_reference(const fs::path& workspace) const {
        for (const char* key : {"train/loss", "val/loss", "grad_norm", "weight_norm", "lr"}) {
            const std::string expected = scalar_series(reference_ws_ / "runs.sqlite", key);
            ASSERT_FALSE(expected.empty()) << key;
            EXPECT_EQ(scalar_series(workspace / "runs.sqlite", key), expected) << key;
        }
        EXPECT_EQ(query_text(workspace / "runs.sqlite", "SELECT status FROM runs WHERE id = 1"),
                  "completed");
    }

    fs::path reference_ws_;
};

TEST_F(CliTrainTest, ResumeAfterSigkillIsBitExact) {
    const fs::path recipe = write_file("tiny.yaml", tiny_recipe(150, 5));
    train_reference(recipe);

    const fs::path workspace = dir_ / "killed";
    const KilledRun run = kill_after_first_checkpoint(recipe, workspace);
    ASSERT_TRUE(run.reached_checkpoint);
    const ProcessResult& killed = run.result;
    ASSERT_EQ(killed.term_signal, SIGKILL) << "the run finished before it could be killed";

    EXPECT_EQ(query_text(workspace / "runs.sqlite", "PRAGMA integrity_check"), "ok");
    EXPECT_EQ(query_text(workspace / "runs.sqlite", "SELECT status FROM runs WHERE id = 1"),
              "running");

    const ProcessResult resumed =
        lowbit({"train", "--resume", "1", "--progress", "none"}, workspace);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    expect_same_results_as_reference(workspace);
    EXPECT_EQ(
        query_int(workspace / "runs.sqlite", "SELECT count(*) FROM events WHERE kind = 'resumed'"),
        1);
}

TEST_F(CliTrainTest, SigtermStopsGracefullyThenResumeCompletesIdentically) {
    const fs::path recipe = write_file("tiny.yaml", tiny_recipe(150, 50));
    train_reference(recipe);

    const fs::path workspace = dir_ / "stopped";
    BackgroundProcess run = start_process({lowbit_exe(),
                                           "train",
                                           recipe.string(),
                                           "--progress",
                                           "jsonl",
                                           "--workspace",
                                           workspace.string()},
                                          (dir_ / "stopped-run").string());
    // Wait for the first step line, then ask politely.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (read_file(run.out_path).find("\"event\":\"step\"") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(run.pid, SIGTERM);
    const ProcessResult stopped = wait_process(run);
    ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
    EXPECT_EQ(query_text(workspace / "runs.sqlite", "SELECT status FROM runs WHERE id = 1"),
              "stopped");
    const int64_t stop_step =
        query_int(workspace / "runs.sqlite", "SELECT max(step) FROM checkpoints WHERE run_id = 1");
    EXPECT_GT(stop_step, 0);
    EXPECT_LT(stop_step, 150);
    EXPECT_NE(stopped.out.find("\"event\":\"stopped\""), std::string::npos);

    const ProcessResult resumed =
        lowbit({"train", "--resume", "1", "--progress", "none"}, workspace);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    expect_same_results_as_reference(workspace);
    // A completed run cannot be resumed again.
    const ProcessResult again = lowbit({"train", "--resume", "1"}, workspace);
    EXPECT_EQ(again.exit_code, 2);
}

TEST_F(CliTrainTest, NonFiniteLossEndsRunAsDiverged) {
    // An absurd learning rate without clipping overflows the weights within a few steps.
    const fs::path recipe = write_file("diverge.yaml", tiny_recipe(50, 50));
    const fs::path workspace = dir_ / "ws";
    const ProcessResult result = lowbit({"train",
                                         recipe.string(),
                                         "--progress",
                                         "none",
                                         "--set",
                                         "train.lr=1e30",
                                         "--set",
                                         "train.min_lr=1e30",
                                         "--set",
                                         "train.grad_clip=0",
                                         "--set",
                                         "train.warmup_steps=0",
                                         "--set",
                                         "train.log_every=1000"},
                                        workspace);
    EXPECT_EQ(result.exit_code, 3) << result.err;
    // The step that diverged is recorded, its loss or gradient norm not finite (stored as NULL),
    // although train.log_every logs no step of this run.
    const std::string at_divergence =
        " AND step = (SELECT step FROM events WHERE kind = 'diverged')";
    EXPECT_EQ(query_int(workspace / "runs.sqlite",
                        "SELECT count(*) FROM scalars WHERE key = 'train/loss'" + at_divergence),
              1);
    EXPECT_GE(query_int(workspace / "runs.sqlite",
                        "SELECT count(*) FROM scalars WHERE key IN ('train/loss', 'grad_norm') "
                        "AND value IS NULL" +
                            at_divergence),
              1);
    EXPECT_EQ(query_text(workspace / "runs.sqlite", "SELECT status FROM runs WHERE id = 1"),
              "diverged");
    EXPECT_EQ(
        query_int(workspace / "runs.sqlite", "SELECT count(*) FROM events WHERE kind = 'diverged'"),
        1);
}

TEST_F(CliTrainTest, JsonLinesProgressDescribesEveryStepAndEvent) {
    const fs::path recipe = write_file("tiny.yaml", tiny_recipe(12, 6));
    const ProcessResult result =
        lowbit({"train", recipe.string(), "--progress", "jsonl"}, dir_ / "ws");
    ASSERT_EQ(result.exit_code, 0) << result.err;
    std::istringstream lines(result.out);
    std::string line;
    int steps = 0;
    std::vector<std::string> names;
    while (std::getline(lines, line)) {
        // Every stdout line is a run event of this format version (throws otherwise).
        const events::RunEvent event = events::from_json_line(line);
        EXPECT_EQ(nlohmann::json::parse(line).at("format"), events::kFormatVersion);
        if (const auto* step = std::get_if<events::Step>(&event.body)) {
            ++steps;
            EXPECT_EQ(event.step, steps);
            EXPECT_EQ(step->steps, 12);
            EXPECT_TRUE(std::isfinite(step->loss));
            EXPECT_GT(step->lr, 0);
            EXPECT_GT(step->tokens_per_s, 0);
            // recipe: batch 4 x context 16 tokens per step
            EXPECT_EQ(step->tokens, int64_t{steps} * 4 * 16);
            EXPECT_TRUE(step->logged);  // log_every defaults to 1
        } else {
            names.push_back(events::event_name(event.body));
        }
    }
    EXPECT_EQ(steps, 12);
    ASSERT_FALSE(names.empty());
    EXPECT_EQ(names.front(), "started");
    EXPECT_EQ(names.back(), "completed");
    EXPECT_EQ(std::count(names.begin(), names.end(), "checkpoint"), 2);
    // The step-0 evaluation, one every 6 steps, and the last one at step 12 (also 6 x 2).
    EXPECT_EQ(std::count(names.begin(), names.end(), "eval"), 3);
}

}  // namespace
}  // namespace lowbit::testing
