// `lowbit`: the headless engine of Lowbit Studio. Trains, evaluates, imports and exports
// Transformer language models and records every run in a SQLite workspace.
#include "lowbit/dist/world.h"
#include "lowbit/store/workspace.h"
#include "lowbit/util/build_info.h"
#include "lowbit/util/exit_codes.h"

#include <cstdio>
#include <cstdlib>

#include "commands.h"
#include "local_ranks.h"

namespace lowbit::app {

std::string resolve_workspace(const CommonOptions& common) {
    if (!common.workspace.empty()) {
        return common.workspace;
    }
    if (const char* env = std::getenv("LOWBIT_WORKSPACE"); env != nullptr && *env != '\0') {
        return env;
    }
    return store::Workspace::default_root().string();
}

}  // namespace lowbit::app

int main(int argc, char** argv) {
    using namespace lowbit;
    dist::set_collective_environment();  // first, while this process has one thread
    app::remember_command_line(argc, argv);
    CLI::App cli{"lowbit: low-bit training engine of Lowbit Studio"};
    cli.set_version_flag("--version", util::version_string());
    cli.require_subcommand(1);
    app::CommonOptions common;
    int exit_code = util::kExitOk;
    app::add_train_command(cli, common, exit_code);
    app::add_recipe_command(cli, exit_code);
    app::add_data_command(cli, exit_code);
    app::add_eval_command(cli, common, exit_code);
    app::add_runs_command(cli, common, exit_code);
    app::add_interop_commands(cli, common, exit_code);
    app::add_sweep_command(cli, common, exit_code);
    app::add_quant_command(cli, exit_code);
    app::add_generate_command(cli, common, exit_code);
    app::add_qat_command(cli, common, exit_code);
    try {
        cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = cli.exit(e);
        return rc == 0 ? util::kExitOk : util::kExitBadInput;
    } catch (const std::exception& e) {
        return app::error_exit(e);
    }
    return exit_code;
}
