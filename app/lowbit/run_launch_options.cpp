// add_run_launch_options: the options `lowbit train` and `lowbit qat` share, registered once.
#include "lowbit/config/recipe_yaml.h"

#include "commands.h"
#include "local_ranks.h"

namespace lowbit::app {

void add_run_launch_options(CLI::App* cmd,
                            RunLaunchOptions& options,
                            CommonOptions& common,
                            const std::string& recipe_help) {
    cmd->add_option("recipe", options.recipe_file, recipe_help)->check(CLI::ExistingFile);
    cmd->add_option(
        "--set", options.overrides, "Override a recipe key: key.path=value (repeatable)");
    cmd->add_option(
        "--workspace,-w",
        common.workspace,
        "Workspace folder (default: $LOWBIT_WORKSPACE or ~/.local/share/lowbit/workspace)");
    cmd->add_option("--name", options.name, "Run name (default: the recipe's name)");
    cmd->add_option("--progress", options.progress, "auto|bar|jsonl|none")
        ->check(CLI::IsMember({"auto", "bar", "jsonl", "none"}));
    cmd->add_option("--device", options.device, "auto|cpu|cuda (overrides train.device)")
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    cmd->add_option("--tags", options.tags, "Comma-separated tags");
    cmd->add_option("--group", options.group, "Group name (runs compared together)");
    cmd->add_option("--nproc-per-node",
                    options.nproc_per_node,
                    "Run N data-parallel ranks on this host (each batch is split across "
                    "them; docs/distributed.md)")
        ->check(CLI::Range(1, 256));
    cmd->add_option("--collective-timeout",
                    options.collective_timeout_s,
                    "Data-parallel runs: seconds a rank waits for the others before it fails "
                    "(default 300)")
        ->check(CLI::PositiveNumber);
}

std::optional<int> run_local_ranks_if_asked(const RunLaunchOptions& options, bool check_recipe) {
    if (options.nproc_per_node <= 0) {
        return std::nullopt;
    }
    if (check_recipe && !options.recipe_file.empty()) {
        (void)config::load_recipe_file(options.recipe_file, options.overrides);
    }
    return run_local_ranks(options.nproc_per_node, options.collective_timeout());
}

}  // namespace lowbit::app
