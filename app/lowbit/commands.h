// The `lowbit` subcommands. Each add_*_command registers its options and a callback that stores
// the process exit code in `exit_code`; errors propagate as exceptions to main's error_exit().
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace lowbit::app {

// Options shared by the commands that touch a workspace.
struct CommonOptions {
    std::string workspace;  // empty: $LOWBIT_WORKSPACE or the XDG default
};

std::string resolve_workspace(const CommonOptions& common);

// What the commands that start a run from a recipe (train, qat) take alike.
struct RunLaunchOptions {
    std::string recipe_file;
    std::vector<std::string> overrides;  // --set key.path=value
    std::string name;
    std::string progress = "auto";
    std::string device;
    std::string resume;  // registered by each command: what resuming means differs
    std::string tags;
    std::string group;
    int nproc_per_node = 0;             // > 0: start that many local ranks (local_ranks.h)
    double collective_timeout_s = 300;  // data parallelism: a collective's longest wait

    std::chrono::milliseconds collective_timeout() const {
        return std::chrono::milliseconds(static_cast<int64_t>(collective_timeout_s * 1000.0));
    }
};

// Registers the recipe positional (described by recipe_help), --set, --workspace, --name,
// --progress, --device, --tags, --group, --nproc-per-node and --collective-timeout on cmd.
void add_run_launch_options(CLI::App* cmd,
                            RunLaunchOptions& options,
                            CommonOptions& common,
                            const std::string& recipe_help);

// With --nproc-per-node N: checks the recipe file once here (when `check_recipe`, so that an
// error is printed once, not by every rank), then runs N ranks of this command line and returns
// rank 0's exit code. Without: nullopt, and this process is the run (or one rank of it).
std::optional<int> run_local_ranks_if_asked(const RunLaunchOptions& options, bool check_recipe);

void add_train_command(CLI::App& app, CommonOptions& common, int& exit_code);
void add_recipe_command(CLI::App& app, int& exit_code);
void add_data_command(CLI::App& app, int& exit_code);
void add_eval_command(CLI::App& app, CommonOptions& common, int& exit_code);
void add_runs_command(CLI::App& app, CommonOptions& common, int& exit_code);
void add_interop_commands(CLI::App& app, CommonOptions& common, int& exit_code);
void add_sweep_command(CLI::App& app, CommonOptions& common, int& exit_code);
void add_quant_command(CLI::App& app, int& exit_code);
void add_generate_command(CLI::App& app, CommonOptions& common, int& exit_code);
void add_qat_command(CLI::App& app, CommonOptions& common, int& exit_code);

// Maps an exception to a message on stderr and an exit code (2 bad input, 1 runtime failure).
int error_exit(const std::exception& error);

}  // namespace lowbit::app
