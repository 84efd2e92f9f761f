// CliTest fixture (see cli_fixture.h).
#include "cli_fixture.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "temp_dir.h"
#include <unistd.h>

namespace lowbit::testing {
namespace fs = std::filesystem;

int64_t query_int(const fs::path& database, const std::string& sql) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt* stmt = nullptr;
    int64_t value = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
        value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}

std::string query_text(const fs::path& database, const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* stmt = nullptr;
    std::string value;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
        value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}

std::string query_rows(const fs::path& database, const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
    std::ostringstream rows;
    rows.precision(17);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
            switch (sqlite3_column_type(stmt, c)) {
                case SQLITE_INTEGER:
                    rows << sqlite3_column_int64(stmt, c) << " ";
                    break;
                case SQLITE_FLOAT:
                    rows << sqlite3_column_double(stmt, c) << " ";
                    break;
                case SQLITE_NULL:
                    rows << "null ";
                    break;
                default:
                    rows << reinterpret_cast<const char*>(sqlite3_column_text(stmt, c)) << " ";
            }
        }
        rows << "\n";
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rows.str();
}

std::string scalar_series(const fs::path& database, const std::string& key) {
    // Keys are the engine's own ("train/loss"), never user text: quoting is enough here.
    return query_rows(
        database,
        "SELECT step, value FROM scalars WHERE run_id = 1 AND key = '" + key + "' ORDER BY step");
}

// Waits until run 1 has at least one checkpoint recorded, or the process is gone.
bool wait_for_first_checkpoint(const fs::path& database, pid_t pid) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
        if (fs::exists(database) &&
            query_int(database, "SELECT count(*) FROM checkpoints WHERE run_id = 1") > 0) {
            return true;
        }
        if (kill(pid, 0) != 0) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

BackgroundProcess CliTest::start_training(const fs::path& recipe,
                                          const fs::path& workspace,
                                          const std::string& log_name) const {
    return start_process({lowbit_exe(),
                          "train",
                          recipe.string(),
                          "--progress",
                          "none",
                          "--workspace",
                          workspace.string()},
                         (dir_ / log_name).string());
}

CliTest::KilledRun CliTest::kill_after_first_checkpoint(const fs::path& recipe,
                                                        const fs::path& workspace) const {
    BackgroundProcess run = start_training(recipe, workspace, "killed-run");
    KilledRun killed;
    killed.reached_checkpoint = wait_for_first_checkpoint(workspace / "runs.sqlite", run.pid);
    kill(run.pid, SIGKILL);
    killed.result = wait_process(run);
    return killed;
}

void CliTest::SetUp() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("lowbit-cli-" + std::string(info->name()) + "-" + std::to_string(getpid()));
    remove_tree(dir_);
    fs::create_directories(dir_);
}

void CliTest::TearDown() {
    if (!HasFailure()) {
        remove_tree(dir_);
    }
}

fs::path CliTest::write_file(const std::string& name, const std::string& text) const {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

std::string CliTest::tiny_recipe(int steps, int checkpoint_every) const {
    return "name: tiny\nseed: 5\n"
           "model: {family: gpt2, layers: 2, heads: 2, d_model: 32, context: 16}\n"
           "data: {train: builtin:markov, markov: {tokens: 60000}}\n"
           "train: {steps: " +
           std::to_string(steps) + ", batch_size: 4, lr: 0.003, min_lr: 0.0003, warmup_steps: " +
           std::to_string(std::min(5, steps)) +
           ", eval_every: 10, "
           "eval_batches: 2, checkpoint_every: " +
           std::to_string(checkpoint_every) + ", device: cpu, threads: 1}\n";
}

ProcessResult CliTest::lowbit(std::vector<std::string> args, const fs::path& workspace) const {
    args.insert(args.begin(), lowbit_exe());
    if (!workspace.empty()) {
        args.push_back("--workspace");
        args.push_back(workspace.string());
    }
    return run_process(args);
}

std::string CliTest::dump_database(const fs::path& database) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        sqlite3_close(db);
        return "<cannot open>";
    }
    std::string dump;
    for (const char* table : {"runs", "scalars", "events", "checkpoints", "artifacts"}) {
        const std::string sql = std::string("SELECT * FROM ") + table + " ORDER BY 1";
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
            dump += std::string("<no table ") + table + ">\n";
            continue;
        }
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            dump += table;
            for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
                const unsigned char* text = sqlite3_column_text(stmt, c);
                dump += "|";
                dump += text != nullptr ? reinterpret_cast<const char*>(text) : "NULL";
            }
            dump += "\n";
        }
        sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return dump;
}

std::string CliTest::dump_files(const fs::path& folder) {
    std::string dump;
    if (!fs::exists(folder)) {
        return dump;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(folder)) {
        if (entry.is_regular_file()) {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        const std::string content = read_file(file.string());
        dump += file.string() + " " + std::to_string(content.size()) + " " +
                std::to_string(std::hash<std::string>{}(content)) + "\n";
    }
    return dump;
}

}  // namespace lowbit::testing
