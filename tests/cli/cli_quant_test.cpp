// Quantized pretraining through the real CLI: each bad quantization input (bit-width 1 or 9, a
// group size that does not divide a layer width, a scope naming no layer, an override matching
// nothing) makes `lowbit recipe check` and `lowbit train` exit 2 with the key in the message and
// records no run; a W8A8G8 run (bf16 autocast, stochastic rounding) completes; and a quantized run
// with stochastic rounding killed after a checkpoint resumes bit for bit.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <sstream>
#include <thread>

#include "cli_fixture.h"

namespace lowbit::testing {
namespace {
namespace fs = std::filesystem;

// W8 per-channel, A8 and G8 per-token (the paper's W8A8G8) with `extra` lines appended.
std::string w8a8g8(const std::string& extra = "") {
    return "quant:\n"
           "  weight: {bits: 8, granularity: per_channel}\n"
           "  activation: {bits: 8, granularity: per_token}\n"
           "  grad_output: {bits: 8, granularity: per_token, min_range: 1.0e-9}\n" +
           extra;
}

class CliQuantTest : public CliTest {
protected:
    // `lowbit recipe check` and `lowbit train` both exit 2 naming each needle; no run is recorded.
    void expect_rejected(const std::string& quant_yaml, const std::vector<std::string>& needles) {
        const fs::path recipe = write_file("bad.yaml", tiny_recipe(4, 4) + quant_yaml);
        const ProcessResult check = lowbit({"recipe", "check", recipe.string()}, {});
        EXPECT_EQ(check.exit_code, 2) << check.out << check.err;
        expect_train_rejected(recipe, needles);
        for (const auto& needle : needles) {
            EXPECT_NE(check.err.find(needle), std::string::npos)
                << "recipe check stderr lacks '" << needle << "':\n"
                << check.err;
        }
    }

    void expect_train_rejected(const fs::path& recipe, const std::vector<std::string>& needles) {
        const fs::path workspace = dir_ / "ws";
        const ProcessResult train =
            lowbit({"train", recipe.string(), "--progress", "none"}, workspace);
        EXPECT_EQ(train.exit_code, 2) << train.err;
        for (const auto& needle : needles) {
            EXPECT_NE(train.err.find(needle), std::string::npos)
                << "train stderr lacks '" << needle << "':\n"
                << train.err;
        }
        const fs::path database = workspace / "runs.sqlite";
        if (fs::exists(database)) {
            EXPECT_EQ(query_int(database, "SELECT count(*) FROM runs"), 0);
        }
    }
};

TEST_F(CliQuantTest, BitWidthOneOrNineIsRejected) {
    expect_rejected("quant:\n  weight: {bits: 1}\n",
                    {"bad.yaml:7:", "quant.weight.bits", "not a supported bit-width"});
    expect_rejected("quant:\n  grad_output: {bits: 9}\n",
                    {"bad.yaml:7:", "quant.grad_output.bits", "2..8, or 16/32"});
}

TEST_F(CliQuantTest, GroupSizeNotDividingALayerWidthIsRejected) {
    // tiny_recipe: d_model 32, so 48 divides no input width.
    expect_rejected("quant:\n  weight: {bits: 4, granularity: per_group, group_size: 48}\n",
                    {"bad.yaml:7:", "quant.weight.group_size", "48 does not divide 32"});
    // One q/k/v block of the output gradient with split_qkv_grad.
    expect_rejected(
        "quant:\n  grad_output: {bits: 8, granularity: per_group, group_size: 48}\n"
        "  scope: [qkv]\n  split_qkv_grad: true\n",
        {"quant.grad_output.group_size", "q/k/v block"});
}

TEST_F(CliQuantTest, GroupSizeNotDividingTheVocabularyIsRejectedBeforeTraining) {
    // lm_head's output width is the tokenizer's (256 bytes): `recipe check` cannot know it, the
    // plan resolved after the model is built can, still before the run is recorded.
    const fs::path recipe =
        write_file("head.yaml",
                   tiny_recipe(4, 4) +
                       "quant:\n  grad_output: {bits: 8, granularity: per_group, group_size: 24}\n"
                       "  scope: [qkv, lm_head]\n");
    const ProcessResult check = lowbit({"recipe", "check", recipe.string()}, {});
    EXPECT_EQ(check.exit_code, 0) << check.err;
    expect_train_rejected(recipe,
                          {"quant.grad_output.group_size", "does not divide 256", "layer lm_head"});
}

TEST_F(CliQuantTest, ScopeNamingNoLayerIsRejected) {
    expect_rejected("quant:\n  weight: {bits: 8}\n  scope: [fc1, gate]\n",
                    {"bad.yaml:", "quant.scope", "'gate' is not a linear of a gpt2 model"});
}

TEST_F(CliQuantTest, OverrideMatchingNothingIsRejected) {
    expect_rejected("quant:\n  overrides:\n    - {layers: \"blocks.5.*\", weight: {bits: 8}}\n",
                    {"bad.yaml:8:",
                     "quant.overrides[0].layers",
                     "'blocks.5.*' matches no linear of this gpt2 model with 2 blocks"});
}

TEST_F(CliQuantTest, W8A8G8RunInBf16WithStochasticRoundingCompletes) {
    const fs::path recipe = write_file(
        "q.yaml",
        tiny_recipe(6, 6) +
            w8a8g8("  optim_m: {bits: 8}\n  backward: both\n  split_qkv_grad: true\n"
                   "  overrides:\n    - {layers: lm_head, grad_output: {bits: 8, rounding: "
                   "stochastic}}\n"));
    const fs::path workspace = dir_ / "ws";
    const ProcessResult result =
        lowbit({"train", recipe.string(), "--set", "train.precision=bf16", "--progress", "none"},
               workspace);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(query_int(workspace / "runs.sqlite",
                        "SELECT count(*) FROM runs WHERE status = 'completed'"),
              1);
}

// Stochastic rounding, low-bit Adam states (stored codes go through the checkpoint) and
// telemetry: the resumed run recomputes every scalar and every telemetry row identically.
TEST_F(CliQuantTest, StochasticRoundingRunResumesBitExactAfterSigkill) {
    const std::string sr = w8a8g8(
        "  optim_m: {bits: 4, granularity: per_group, group_size: 16}\n"
        "  optim_v: {bits: 8, granularity: per_channel}\n"
        "  overrides:\n    - {layers: \"*\", weight: {bits: 8, rounding: stochastic}, "
        "grad_output: {bits: 8, rounding: stochastic, min_range: 1.0e-9}}\n"
        "telemetry: {every: 10}\n");
    const fs::path recipe = write_file("sr.yaml", tiny_recipe(60, 5) + sr);
    const fs::path reference = dir_ / "reference";
    const ProcessResult ref = lowbit({"train", recipe.string(), "--progress", "none"}, reference);
    ASSERT_EQ(ref.exit_code, 0) << ref.err;

    const fs::path workspace = dir_ / "killed";
    const fs::path database = workspace / "runs.sqlite";
    const KilledRun run = kill_after_first_checkpoint(recipe, workspace);
    ASSERT_TRUE(run.reached_checkpoint);
    const ProcessResult& killed = run.result;
    ASSERT_EQ(killed.term_signal, SIGKILL) << "the run finished before it could be killed";

    const ProcessResult resumed =
        lowbit({"train", "--resume", "1", "--progress", "none"}, workspace);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    for (const char* key : {"train/loss", "val/loss", "grad_norm", "weight_norm"}) {
        const std::string expected = scalar_series(reference / "runs.sqlite", key);
        ASSERT_FALSE(expected.empty()) << key;
        EXPECT_EQ(scalar_series(database, key), expected) << key;
    }
    const std::string telemetry_rows =
        "SELECT t.step, t.layer, t.tensor_kind, t.sqnr_db, t.underflow_fraction, h.bin_scheme, "
        "t.n, t.sum, t.sumsq, hex(h.counts) FROM tensor_stats t JOIN histograms h ON h.run_id = "
        "t.run_id AND h.step = t.step AND h.layer = t.layer AND h.tensor_kind = t.tensor_kind "
        "WHERE t.run_id = 1 ORDER BY t.step, t.layer, t.tensor_kind, h.bin_scheme";
    const std::string expected_telemetry = query_rows(reference / "runs.sqlite", telemetry_rows);
    // 6 logging steps × 9 layers × 5 kinds × 2 histograms.
    EXPECT_EQ(std::count(expected_telemetry.begin(), expected_telemetry.end(), '\n'), 540);
    EXPECT_EQ(query_rows(database, telemetry_rows), expected_telemetry);
}

}  // namespace
}  // namespace lowbit::testing
