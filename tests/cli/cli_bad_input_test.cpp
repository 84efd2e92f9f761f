// Bad input through the real CLI: every recipe validation error, missing/empty corpus, malformed
// token file, truncated and corrupt checkpoints, a database that is not SQLite and an unwritable
// workspace. Each must exit 2 with a message naming what and where, and leave every existing run
// of the workspace (database rows and checkpoint files) exactly as it was.
#include <filesystem>
#include <fstream>

#include "cli_fixture.h"

namespace lowbit::testing {
namespace {
namespace fs = std::filesystem;

class CliBadInputTest : public CliTest {
protected:
    // A workspace with one completed run, and its state before the bad command.
    void make_workspace_with_run() {
        workspace_ = dir_ / "ws";
        const fs::path recipe = write_file("good.yaml", tiny_recipe(4, 2));
        const ProcessResult trained =
            lowbit({"train", recipe.string(), "--progress", "none"}, workspace_);
        ASSERT_EQ(trained.exit_code, 0) << trained.err;
        database_before_ = dump_database(workspace_ / "runs.sqlite");
        files_before_ = dump_files(workspace_ / "runs");
        ASSERT_NE(database_before_.find("completed"), std::string::npos);
    }

    void expect_workspace_unchanged() const {
        EXPECT_EQ(dump_database(workspace_ / "runs.sqlite"), database_before_);
        EXPECT_EQ(dump_files(workspace_ / "runs"), files_before_);
    }

    // Runs `lowbit train RECIPE` expecting exit 2 and each needle in stderr.
    void expect_train_rejected(const std::string& recipe_text,
                               const std::vector<std::string>& needles) {
        const fs::path recipe = write_file("bad.yaml", recipe_text);
        const ProcessResult result =
            lowbit({"train", recipe.string(), "--progress", "none"}, workspace_);
        EXPECT_EQ(result.exit_code, 2) << result.err;
        for (const auto& needle : needles) {
            EXPECT_NE(result.err.find(needle), std::string::npos)
                << "stderr lacks '" << needle << "':\n"
                << result.err;
        }
    }

    fs::path workspace_;
    std::string database_before_;
    std::string files_before_;
};

TEST_F(CliBadInputTest, RecipeErrorsNameFileLineKeyAndLeaveRunsAlone) {
    make_workspace_with_run();
    // Wrong type: line 2, column of the value.
    expect_train_rejected("name: x\ntrain:\n  lr: abc\n", {"bad.yaml:3:", "train.lr"});
    // Out of range.
    expect_train_rejected("train:\n  steps: 0\n", {"bad.yaml:2:", "train.steps"});
    // Unknown enum value lists the valid ones.
    expect_train_rejected("model:\n  family: gpt3\n",
                          {"bad.yaml:2:", "model.family", "gpt2", "llama"});
    // Unknown key suggests the nearest valid key.
    expect_train_rejected("train:\n  lr_min: 0.1\n",
                          {"bad.yaml:2:", "train.lr_min", "train.min_lr"});
    // YAML syntax error.
    expect_train_rejected("train: {lr: 0.1\n", {"bad.yaml:"});
    // A bad --set override names the override.
    const fs::path good = write_file("ok.yaml", "name: ok\n");
    const ProcessResult bad_set = lowbit(
        {"train", good.string(), "--set", "train.batch_size=-3", "--progress", "none"}, workspace_);
    EXPECT_EQ(bad_set.exit_code, 2);
    EXPECT_NE(bad_set.err.find("train.batch_size"), std::string::npos) << bad_set.err;
    expect_workspace_unchanged();
}

TEST_F(CliBadInputTest, MissingRecipeFileIsUsageError) {
    const ProcessResult train = lowbit({"train", (dir_ / "nope.yaml").string()}, dir_ / "ws");
    EXPECT_EQ(train.exit_code, 2);
    EXPECT_NE(train.err.find("nope.yaml"), std::string::npos) << train.err;
    const ProcessResult check = lowbit({"recipe", "check", (dir_ / "nope.yaml").string()}, {});
    EXPECT_EQ(check.exit_code, 2);
    EXPECT_NE(check.err.find("nope.yaml"), std::string::npos) << check.err;
}

TEST_F(CliBadInputTest, BadCorporaAreRejectedBeforeAnyRunIsCreated) {
    make_workspace_with_run();
    const std::string base =
        "model: {family: gpt2, layers: 1, heads: 1, d_model: 16, context: 8}\n"
        "train: {steps: 2, device: cpu}\n";
    // Missing corpus.
    expect_train_rejected(base + "data: {train: " + (dir_ / "missing.txt").string() + "}\n",
                          {"missing.txt"});
    // Empty corpus.
    write_file("empty.txt", "");
    expect_train_rejected(base + "data: {train: " + (dir_ / "empty.txt").string() + "}\n",
                          {"empty.txt", "empty"});
    // Token file whose length is not a multiple of the token size (uint16: 1001 bytes).
    write_file("odd.bin", std::string(1001, '\x01'));
    expect_train_rejected(
        base + "data: {train: " + (dir_ / "odd.bin").string() + ", format: tokens}\n",
        {"odd.bin", "1001", "multiple"});
    // JSONL line without a text field names the line.
    write_file("docs.jsonl", "{\"text\": \"hello there\"}\n{\"body\": \"no text\"}\n");
    expect_train_rejected(base + "data: {train: " + (dir_ / "docs.jsonl").string() + "}\n",
                          {"docs.jsonl:2"});
    expect_workspace_unchanged();
}

// `recipe check` refuses what `train` would refuse before training, with the same message:
// a missing corpus (train or val) or tokenizer model exits 2 and names the key and the path.
TEST_F(CliBadInputTest, RecipeCheckRefusesMissingDataFilesLikeTrain) {
    const std::string base =
        "model: {family: gpt2, layers: 1, heads: 1, d_model: 16, context: 8}\n"
        "train: {steps: 2, device: cpu}\n";
    write_file("present.txt", "some text to train on\n");
    const std::string present = (dir_ / "present.txt").string();

    const struct {
        std::string data;
        std::string key;
        std::string path;
    } cases[] = {
        {"{train: " + (dir_ / "missing.txt").string() + "}", "data.train", "missing.txt"},
        {"{train: " + present + ", val: " + (dir_ / "gone-val.txt").string() + "}",
         "data.val",
         "gone-val.txt"},
        {"{train: " + present +
             ", tokenizer: sentencepiece, tokenizer_model: " + (dir_ / "no.model").string() + "}",
         "data.tokenizer_model",
         "no.model"},
    };

    for (const auto& c : cases) {
        const fs::path recipe = write_file("r.yaml", base + "data: " + c.data + "\n");
        const ProcessResult check = lowbit({"recipe", "check", recipe.string()}, {});
        EXPECT_EQ(check.exit_code, 2) << check.out << check.err;
        const std::string message = c.key + ": no such file or directory: ";
        EXPECT_NE(check.err.find(message), std::string::npos) << check.err;
        EXPECT_NE(check.err.find(c.path), std::string::npos) << check.err;
        const ProcessResult train =
            lowbit({"train", recipe.string(), "--progress", "none"}, dir_ / "ws");
        EXPECT_EQ(train.exit_code, 2) << train.err;
        // The same line as train's.
        EXPECT_EQ(check.err, train.err);
    }
    const fs::path good = write_file("good.yaml", base + "data: {train: " + present + "}\n");
    EXPECT_EQ(lowbit({"recipe", "check", good.string()}, {}).exit_code, 0);
}

TEST_F(CliBadInputTest, TruncatedAndCorruptCheckpointsAreRefused) {
    make_workspace_with_run();
    const fs::path text = write_file("eval.txt", std::string(4000, 'a'));
    // The run's checkpoints: step-0000002 and step-0000004 (the latest).
    const fs::path latest = workspace_ / "runs" / "1" / "checkpoints" / "step-0000004";
    ASSERT_TRUE(fs::exists(latest / "model.safetensors"));
    const ProcessResult ok = lowbit({"eval", "1", "--data", text.string()}, workspace_);
    ASSERT_EQ(ok.exit_code, 0) << ok.err;
    database_before_ = dump_database(workspace_ / "runs.sqlite");  // the eval added rows

    const auto size = fs::file_size(latest / "model.safetensors");
    fs::resize_file(latest / "model.safetensors", size / 2);
    files_before_ = dump_files(workspace_ / "runs");
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"eval", "1", "--data", text.string()},
             {"export", "1", "--format", "hf", "--out", (dir_ / "hf").string()},
             {"eval", latest.string(), "--data", text.string()}}) {
        const ProcessResult result = lowbit(args, workspace_);
        EXPECT_EQ(result.exit_code, 2) << result.err;
        EXPECT_NE(result.err.find("model.safetensors"), std::string::npos) << result.err;
        EXPECT_NE(result.err.find("truncated"), std::string::npos) << result.err;
    }
    // Same size, one flipped byte: caught by the checksum.
    const fs::path earlier = workspace_ / "runs" / "1" / "checkpoints" / "step-0000002";
    {
        std::fstream file(earlier / "optimizer.safetensors",
                          std::ios::in | std::ios::out | std::ios::binary);
        file.seekp(100);
        file.put('\x7f');
    }
    files_before_ = dump_files(workspace_ / "runs");
    const ProcessResult corrupt =
        lowbit({"eval", earlier.string(), "--data", text.string()}, workspace_);
    EXPECT_EQ(corrupt.exit_code, 2) << corrupt.err;
    EXPECT_NE(corrupt.err.find("optimizer.safetensors"), std::string::npos) << corrupt.err;
    expect_workspace_unchanged();
}

TEST_F(CliBadInputTest, DatabaseThatIsNotSqliteIsRefusedAndKept) {
    const fs::path workspace = dir_ / "ws";
    fs::create_directories(workspace);
    const std::string garbage =
        "this is not a database, it is a text file\n" + std::string(5000, 'x');
    write_file("ws/runs.sqlite", garbage);
    const fs::path recipe = write_file("good.yaml", tiny_recipe(2, 2));
    const ProcessResult train = lowbit({"train", recipe.string(), "--progress", "none"}, workspace);
    EXPECT_EQ(train.exit_code, 2) << train.err;
    EXPECT_NE(train.err.find((workspace / "runs.sqlite").string()), std::string::npos) << train.err;
    EXPECT_EQ(read_file((workspace / "runs.sqlite").string()), garbage);
    const ProcessResult list = lowbit({"runs", "list"}, workspace);
    EXPECT_EQ(list.exit_code, 2) << list.err;
    EXPECT_EQ(read_file((workspace / "runs.sqlite").string()), garbage);
}

TEST_F(CliBadInputTest, UnwritableWorkspaceIsRefused) {
    // A workspace "inside" a regular file cannot be created, even by root.
    write_file("plain-file", "x");
    const fs::path workspace = dir_ / "plain-file" / "ws";
    const fs::path recipe = write_file("good.yaml", tiny_recipe(2, 2));
    const ProcessResult train = lowbit({"train", recipe.string(), "--progress", "none"}, workspace);
    EXPECT_EQ(train.exit_code, 2) << train.err;
    EXPECT_NE(train.err.find(workspace.string()), std::string::npos) << train.err;
}

}  // namespace
}  // namespace lowbit::testing
