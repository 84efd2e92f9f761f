// add_run_launch_options: the options `lowbit train` and `lowbit qat` share, registered once.
#include "commands.h"

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
}

}  // namespace lowbit::app
