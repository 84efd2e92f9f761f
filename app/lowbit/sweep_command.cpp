// `lowbit sweep [RECIPE] --vary key=v1,v2 ...`: the cartesian grid of the varied keys, each point
// one `lowbit train` child process in the same workspace and run group, so the GUI compares them.
// Every point's recipe is validated before the first run starts (a typo fails in seconds, not
// after hours). A diverged run is a result, not a failure: the sweep goes on.
#include "lowbit/config/recipe_yaml.h"
#include "lowbit/config/sweep_grid.h"
#include "lowbit/store/run_aggregate.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_report.h"
#include "lowbit/store/workspace.h"
#include "lowbit/util/exit_codes.h"
#include "lowbit/util/stop_signal.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <thread>

#include "commands.h"
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace lowbit::app {
namespace {

struct SweepOptions {
    std::string recipe_file;
    std::vector<std::string> vary;
    std::vector<std::string> overrides;
    std::string group;
    std::string name;
    std::string tags;
    std::string device;
    std::string progress = "auto";
    int jobs = 1;
    bool dry_run = false;
};

struct PlannedRun {
    std::string name;
    std::vector<std::string> overrides;  // --set values: the sweep's --set, then the point's
};

std::string utc_timestamp() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", &utc);
    return text;
}

config::Recipe load_recipe(const SweepOptions& options, const std::vector<std::string>& sets) {
    return options.recipe_file.empty() ? config::apply_overrides(config::Recipe{}, sets)
                                       : config::load_recipe_file(options.recipe_file, sets);
}

std::vector<std::string> child_arguments(const SweepOptions& options,
                                         const PlannedRun& run,
                                         const std::string& workspace,
                                         const std::string& group,
                                         const std::string& progress) {
    std::vector<std::string> args{"lowbit", "train"};
    if (!options.recipe_file.empty()) {
        args.push_back(options.recipe_file);
    }
    for (const std::string& set : run.overrides) {
        args.insert(args.end(), {"--set", set});
    }
    args.insert(args.end(),
                {"--workspace",
                 workspace,
                 "--name",
                 run.name,
                 "--group",
                 group,
                 "--tags",
                 options.tags.empty() ? "sweep" : "sweep," + options.tags,
                 "--progress",
                 progress});
    if (!options.device.empty()) {
        args.insert(args.end(), {"--device", options.device});
    }
    return args;
}

pid_t spawn_child(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const std::string& arg : args) {
        argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    // The running executable, not whatever `lowbit` is first on the PATH.
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ);
    if (rc != 0) {
        throw std::runtime_error("sweep: cannot start " + self + ": " + std::strerror(rc));
    }
    return pid;
}

std::string describe_exit(int status) {
    if (WIFEXITED(status)) {
        switch (WEXITSTATUS(status)) {
            case util::kExitOk:
                return "ok";
            case util::kExitDiverged:
                return "diverged";
            case util::kExitBadInput:
                return "bad input (exit 2)";
            default:
                return "failed (exit " + std::to_string(WEXITSTATUS(status)) + ")";
        }
    }
    return std::string("killed by signal ") + std::to_string(WTERMSIG(status));
}

int run_sweep(const SweepOptions& options, const CommonOptions& common) {
    if (options.jobs < 1) {
        throw util::BadInput("sweep: --jobs must be at least 1, got " +
                             std::to_string(options.jobs));
    }
    std::vector<config::SweepAxis> axes;
    for (const std::string& text : options.vary) {
        axes.push_back(config::parse_sweep_axis(text));
    }
    const std::vector<config::SweepPoint> points = config::expand_sweep(axes);

    // Validate every point's recipe before starting anything.
    std::vector<PlannedRun> runs;
    std::string base_name;
    for (const config::SweepPoint& point : points) {
        std::vector<std::string> sets = options.overrides;
        const std::vector<std::string> varied = point.overrides();
        sets.insert(sets.end(), varied.begin(), varied.end());
        const config::Recipe recipe = load_recipe(options, sets);
        base_name = options.name.empty() ? recipe.name : options.name;
        runs.push_back(
            {point.assignments.empty() ? base_name : base_name + " [" + point.label() + "]", sets});
    }
    const std::string group =
        options.group.empty() ? "sweep " + base_name + " " + utc_timestamp() : options.group;
    const std::string workspace = resolve_workspace(common);

    std::printf("sweep \"%s\": %zu run%s into %s (%d at a time)\n",
                group.c_str(),
                runs.size(),
                runs.size() == 1 ? "" : "s",
                workspace.c_str(),
                options.jobs);
    for (std::size_t i = 0; i < runs.size(); ++i) {
        std::printf("  %2zu. %s\n", i + 1, runs[i].name.c_str());
    }
    std::fflush(stdout);
    if (options.dry_run) {
        return util::kExitOk;
    }
    // Open (and create, migrate) the workspace once here, so parallel children never race on
    // creating it.
    { const store::Workspace created = store::Workspace::open(workspace); }
    const double started = static_cast<double>(std::time(nullptr));

    // A child shows its progress only when it has the terminal to itself.
    const std::string child_progress = options.jobs == 1 ? options.progress : "none";
    util::install_stop_handlers();
    std::map<pid_t, std::size_t> running;
    std::vector<std::string> outcome(runs.size(), "not started");
    std::size_t next = 0;
    bool forwarded_stop = false;
    int failures = 0;
    while (next < runs.size() || !running.empty()) {
        while (!util::stop_requested() && next < runs.size() &&
               static_cast<int>(running.size()) < options.jobs) {
            const auto args =
                child_arguments(options, runs[next], workspace, group, child_progress);
            running[spawn_child(args)] = next;
            outcome[next] = "running";
            ++next;
        }
        if (util::stop_requested() && !forwarded_stop) {
            // Children in our process group got a terminal Ctrl-C already; a SIGTERM sent to the
            // sweep alone must reach them too. Each finishes its step and checkpoints.
            for (const auto& [pid, index] : running) {
                ::kill(pid, SIGTERM);
            }
            forwarded_stop = true;
        }
        int status = 0;
        const pid_t done = ::waitpid(-1, &status, WNOHANG);
        if (done > 0 && running.count(done) != 0) {
            const std::size_t index = running[done];
            running.erase(done);
            outcome[index] = describe_exit(status);
            const bool ok = WIFEXITED(status) && (WEXITSTATUS(status) == util::kExitOk ||
                                                  WEXITSTATUS(status) == util::kExitDiverged);
            failures += ok ? 0 : 1;
            std::printf("sweep: %zu/%zu %s: %s\n",
                        index + 1,
                        runs.size(),
                        runs[index].name.c_str(),
                        outcome[index].c_str());
            std::fflush(stdout);
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }

    // The group's runs of this sweep, as `lowbit runs list` shows them.
    const store::Workspace opened = store::Workspace::open(workspace, store::OpenMode::kReadOnly);
    const store::RunReader reader(opened);
    std::vector<store::RunRecord> recorded;
    for (const store::RunRecord& run : reader.list_runs()) {
        if (run.group_name == group && run.created_at >= started - 1) {
            recorded.push_back(run);
        }
    }
    std::printf("\n%s", store::format_run_table(reader, recorded).c_str());
    const auto aggregates = store::aggregate_over_seeds(reader, recorded);
    if (aggregates.size() < recorded.size()) {  // some configuration ran with several seeds
        std::printf("\n%s", store::format_seed_table(aggregates, false).c_str());
    }
    if (util::stop_requested()) {
        std::printf(
            "sweep stopped: %zu of %zu runs not started\n", runs.size() - next, runs.size());
        return util::kExitOk;
    }
    return failures == 0 ? util::kExitOk : util::kExitFailure;
}

}  // namespace

void add_sweep_command(CLI::App& app, CommonOptions& common, int& exit_code) {
    auto options = std::make_shared<SweepOptions>();
    CLI::App* cmd = app.add_subcommand(
        "sweep",
        "Train the grid of --vary values (cartesian product) into one workspace and run group");
    cmd->add_option("recipe", options->recipe_file, "Recipe YAML file (default: built-in)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--vary",
                    options->vary,
                    "key=v1,v2,...: one axis of the grid (repeatable; e.g. quant.weight.bits=8,4 "
                    "--vary seed=1,2,3)");
    cmd->add_option(
        "--set", options->overrides, "Override a recipe key for every run (repeatable)");
    cmd->add_option("--workspace,-w", common.workspace, "Workspace folder");
    cmd->add_option("--group", options->group, "Run group (default: sweep <name> <UTC time>)");
    cmd->add_option("--name", options->name, "Run name prefix (default: the recipe's name)");
    cmd->add_option("--tags", options->tags, "Extra comma-separated tags (all get 'sweep')");
    cmd->add_option("--device", options->device, "auto|cpu|cuda for every run")
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    cmd->add_option("--progress", options->progress, "auto|bar|jsonl|none (with --jobs 1)")
        ->check(CLI::IsMember({"auto", "bar", "jsonl", "none"}));
    cmd->add_option("--jobs,-j", options->jobs, "Runs at a time (default 1: sequential)");
    cmd->add_flag("--dry-run", options->dry_run, "Validate and print the grid; run nothing");
    cmd->callback([options, &common, &exit_code] { exit_code = run_sweep(*options, common); });
}

}  // namespace lowbit::app
