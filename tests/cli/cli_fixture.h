// Shared fixture of the CLI tests: a temporary folder, recipe writing, running lowbit with a
// workspace, and a logical dump of a workspace database used to prove nothing was changed.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "process_runner.h"
#include <sys/types.h>

namespace lowbit::testing {

// Read-only queries on a workspace database (busy timeout 2 s), for the assertions.
// The first column of the first row as an integer; -1 when the query returns no row.
int64_t query_int(const std::filesystem::path& database, const std::string& sql);
// The first column of the first row as text; "" when there is none.
std::string query_text(const std::filesystem::path& database, const std::string& sql);
// Every row, columns separated by spaces, doubles at full precision (17 digits), NULL as "null",
// one line per row: for comparing what two runs recorded.
std::string query_rows(const std::filesystem::path& database, const std::string& sql);
// The (step, value) rows of one scalar key of run 1, ordered by step.
std::string scalar_series(const std::filesystem::path& database, const std::string& key);

// Waits (up to 120 s) until run 1 has a checkpoint recorded; false when the process `pid`
// ended first or time ran out.
bool wait_for_first_checkpoint(const std::filesystem::path& database, pid_t pid);

class CliTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    std::filesystem::path write_file(const std::string& name, const std::string& text) const;
    // A tiny, fast recipe on builtin:markov; `extra` is appended (YAML) to override sections.
    std::string tiny_recipe(int steps, int checkpoint_every) const;
    ProcessResult lowbit(std::vector<std::string> args,
                         const std::filesystem::path& workspace) const;

    // `lowbit train RECIPE --progress none --workspace WORKSPACE` in the background, its output
    // logged under the test folder as LOG_NAME.{out,err}.
    BackgroundProcess start_training(const std::filesystem::path& recipe,
                                     const std::filesystem::path& workspace,
                                     const std::string& log_name) const;

    // Starts `lowbit train RECIPE --workspace WORKSPACE`, waits for run 1's first checkpoint and
    // kills the process with SIGKILL. `reached_checkpoint` is false when the run ended (or time
    // ran out) first; the result's term_signal is SIGKILL when the kill interrupted it.
    struct KilledRun {
        bool reached_checkpoint = false;
        ProcessResult result;
    };

    KilledRun kill_after_first_checkpoint(const std::filesystem::path& recipe,
                                          const std::filesystem::path& workspace) const;
    // Every row of runs, scalars, events and checkpoints, as text (order by primary key).
    static std::string dump_database(const std::filesystem::path& database);
    static std::string dump_files(
        const std::filesystem::path& folder);  // path + size + content hash

    std::filesystem::path dir_;
};

}  // namespace lowbit::testing
