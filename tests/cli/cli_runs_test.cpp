// `lowbit runs` over what a real training run recorded: liveness (a SIGKILLed run shows as
// killed, a live one as running, `runs mark-killed` records it) and final/best results that
// equal SQL queries over the scalars table written independently here.
#include <csignal>
#include <string>

#include "cli_fixture.h"
#include <nlohmann/json.hpp>

namespace lowbit::testing {
namespace {

namespace fs = std::filesystem;

class CliRunsTest : public CliTest {};

// The STATUS column of `lowbit runs list` for run `id` (columns: ID NAME KIND STATUS ...).
std::string listed_status(const std::string& table, int id) {
    std::istringstream lines(table);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string first, name, kind, status;
        fields >> first >> name >> kind >> status;
        if (first == std::to_string(id)) {
            return status;
        }
    }
    return "<no row for run " + std::to_string(id) + ">";
}

TEST_F(CliRunsTest, SigkilledRunShowsAsKilledAndLiveRunAsRunning) {
    const fs::path workspace = dir_ / "ws";
    // Long enough to still be training when the checks run; killed at the end of the test.
    const fs::path recipe = write_file("long.yaml", tiny_recipe(100000, 2));
    BackgroundProcess live = start_training(recipe, workspace, "live");
    ASSERT_TRUE(wait_for_first_checkpoint(workspace / "runs.sqlite", live.pid));

    const ProcessResult while_alive = lowbit({"runs", "list"}, workspace);
    ASSERT_EQ(while_alive.exit_code, 0) << while_alive.err;
    EXPECT_EQ(listed_status(while_alive.out, 1), "running") << while_alive.out;
    EXPECT_EQ(query_int(workspace / "runs.sqlite", "SELECT pid FROM runs WHERE id = 1"), live.pid);

    kill(live.pid, SIGKILL);
    const ProcessResult killed = wait_process(live);
    ASSERT_EQ(killed.term_signal, SIGKILL);
    // The database still says running: only the reader's liveness check can tell.
    EXPECT_EQ(query_text(workspace / "runs.sqlite", "SELECT status FROM runs WHERE id = 1"),
              "running");
    const ProcessResult after_kill = lowbit({"runs", "list"}, workspace);
    ASSERT_EQ(after_kill.exit_code, 0) << after_kill.err;
    EXPECT_EQ(listed_status(after_kill.out, 1), "killed") << after_kill.out;
    const ProcessResult shown = lowbit({"runs", "show", "1", "--json"}, workspace);
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
    const nlohmann::json details = nlohmann::json::parse(shown.out);
    EXPECT_EQ(details.at("status"), "killed");
    EXPECT_EQ(details.at("stored_status"), "running");

    const ProcessResult marked = lowbit({"runs", "mark-killed"}, workspace);
    ASSERT_EQ(marked.exit_code, 0) << marked.err;
    EXPECT_EQ(query_text(workspace / "runs.sqlite", "SELECT status FROM runs WHERE id = 1"),
              "killed");
    EXPECT_EQ(query_int(workspace / "runs.sqlite",
                        "SELECT count(*) FROM events WHERE run_id = 1 AND kind = 'killed'"),
              1);
    // A killed run resumes like a stopped one.
    const ProcessResult again = lowbit({"runs", "mark-killed"}, workspace);
    EXPECT_NE(again.out.find("no running run"), std::string::npos) << again.out;
}

TEST_F(CliRunsTest, ShowJsonFinalAndBestEqualSqlOverTheScalars) {
    const fs::path workspace = dir_ / "ws";
    const fs::path database = workspace / "runs.sqlite";
    const fs::path recipe = write_file("tiny.yaml", tiny_recipe(30, 30));
    const ProcessResult trained =
        lowbit({"train", recipe.string(), "--progress", "none"}, workspace);
    ASSERT_EQ(trained.exit_code, 0) << trained.err;
    const ProcessResult shown = lowbit({"runs", "show", "1", "--json"}, workspace);
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
    const nlohmann::json details = nlohmann::json::parse(shown.out);

    const int64_t keys = query_int(database, "SELECT count(DISTINCT key) FROM scalars");
    ASSERT_GE(keys, 6);
    EXPECT_EQ(static_cast<int64_t>(details.at("final").size()), keys);
    for (const auto& [key, entry] : details.at("final").items()) {
        const std::string last =
            query_rows(database,
                       "SELECT step, value FROM scalars WHERE run_id = 1 AND key = '" + key +
                           "' ORDER BY step DESC, id DESC LIMIT 1");
        EXPECT_EQ(query_rows(database,
                             "SELECT " + std::to_string(entry.at("step").get<int64_t>()) + ", " +
                                 entry.at("value").dump()),
                  last)
            << key;
    }
    for (const char* key : {"train/loss", "val/loss"}) {
        ASSERT_TRUE(details.at("best").contains(key)) << key;
        const auto& best = details.at("best").at(key);
        const std::string expected = query_rows(
            database,
            std::string("SELECT step, value FROM scalars WHERE run_id = 1 AND key = '") + key +
                "' AND value = (SELECT min(value) FROM scalars WHERE run_id = 1 AND key = '" + key +
                "') ORDER BY step LIMIT 1");
        EXPECT_EQ(query_rows(database,
                             "SELECT " + std::to_string(best.at("step").get<int64_t>()) + ", " +
                                 best.at("value").dump()),
                  expected)
            << key;
    }
    EXPECT_FALSE(details.at("best").contains("lr"));
    // The summary keeps facts only; results are not copied into it.
    EXPECT_FALSE(details.at("summary").contains("final"));
    EXPECT_FALSE(details.at("summary").contains("final_val_loss"));
    EXPECT_TRUE(details.at("summary").contains("optimizer_state_bytes"));
}

}  // namespace
}  // namespace lowbit::testing
