// `lowbit train [RECIPE.yaml] ...`, `lowbit train --resume RUN` and
// `lowbit train --fork RUN[@STEP] [RECIPE.yaml] [--set ...]`.
#include "lowbit/config/batch_wide_scales.h"
#include "lowbit/config/recipe_yaml.h"
#include "lowbit/dist/launch_environment.h"
#include "lowbit/store/open_for_reading.h"
#include "lowbit/store/run_results.h"
#include "lowbit/train/fork_point.h"
#include "lowbit/train/trainer.h"
#include "lowbit/util/exit_codes.h"
#include "lowbit/util/stop_signal.h"

#include <cstdio>

#include "commands.h"

namespace lowbit::app {

namespace {

struct TrainOptions : RunLaunchOptions {
    std::string init_from;
    std::string fork;
};

int run_train(const TrainOptions& options, const CommonOptions& common) {
    if (const auto launcher_exit =
            run_local_ranks_if_asked(options, options.resume.empty() && options.fork.empty())) {
        return *launcher_exit;
    }
    train::TrainRequest request;
    request.launch = dist::launch_environment_of_process();
    request.collective_timeout = options.collective_timeout();
    request.workspace_root = resolve_workspace(common);
    request.name = options.name;
    request.device = options.device;
    request.resume_run = options.resume;
    request.init_from = options.init_from;
    request.fork_from = options.fork;
    request.tags = options.tags;
    request.group = options.group;
    if (!options.fork.empty()) {
        if (!options.resume.empty() || !options.init_from.empty()) {
            throw util::BadInput(
                "--fork starts a new run from a checkpoint; it cannot be combined "
                "with --resume or --init-from");
        }
        // The recipe of the fork: the given file, else the parent's own recipe; --set on top.
        if (options.recipe_file.empty()) {
            const store::Workspace workspace = store::open_for_reading(request.workspace_root);
            const config::Recipe parent =
                train::parent_recipe(train::resolve_fork_point(workspace, options.fork));
            request.recipe = config::apply_overrides(parent, options.overrides);
        } else {
            request.recipe = config::load_recipe_file(options.recipe_file, options.overrides);
        }
    } else if (options.resume.empty()) {
        // No recipe file: the embedded default (builtin:markov), so a fresh install trains
        // something real with no data at all.
        request.recipe = options.recipe_file.empty()
                             ? config::apply_overrides(config::Recipe{}, options.overrides)
                             : config::load_recipe_file(options.recipe_file, options.overrides);
    } else if (!options.recipe_file.empty() || !options.overrides.empty()) {
        throw util::BadInput(
            "--resume continues a run with its stored recipe; "
            "a recipe file or --set cannot be combined with it");
    }
    // Rank 0 reports for the whole job; the other ranks are silent unless they fail.
    const bool reporter = request.launch.rank == 0;
    if (reporter && request.launch.distributed() && options.resume.empty()) {
        // Said before the run, once: the recipe's scales that each rank takes over its own rows.
        for (const std::string& quantizer : config::batch_wide_scales(request.recipe.quant)) {
            std::fprintf(stderr,
                         "lowbit: note: %s scales are taken over each rank's rows, so this "
                         "%d-rank run is not the computation of one process at the same batch "
                         "(docs/distributed.md, Batches)\n",
                         quantizer.c_str(),
                         request.launch.world_size);
        }
    }
    const auto mode =
        reporter ? train::progress_mode_from_string(options.progress) : train::ProgressMode::kNone;
    auto progress = train::make_progress_sink(mode);
    util::install_stop_handlers();
    const train::TrainOutcome outcome = train::run_training(request, *progress);
    if (!reporter) {
        return outcome.exit_code;
    }
    // With JSON lines on stdout the human summary goes to stderr.
    FILE* out = mode == train::ProgressMode::kJsonl ? stderr : stdout;
    std::fprintf(out,
                 "run %lld %s; recorded in %s (folder %s)\n",
                 static_cast<long long>(outcome.run_id),
                 store::to_string(outcome.status),
                 (std::filesystem::path(request.workspace_root) / "runs.sqlite").c_str(),
                 outcome.run_dir.c_str());
    const store::Workspace workspace =
        store::Workspace::open(request.workspace_root, store::OpenMode::kReadOnly);
    const store::RunResults results =
        store::run_results(store::RunReader(workspace), outcome.run_id);
    if (const auto final_val = results.final_value("val/loss")) {
        std::fprintf(out,
                     "final val/loss %.4f nats/token (best %.4f)",
                     *final_val,
                     results.best_value("val/loss").value_or(*final_val));
        if (outcome.summary.contains("entropy_floor_nats")) {
            std::fprintf(
                out, ", entropy floor %.4f", outcome.summary["entropy_floor_nats"].get<double>());
        }
        std::fprintf(out, "\n");
    }
    std::fprintf(out,
                 "see: lowbit runs show %lld --workspace %s\n",
                 static_cast<long long>(outcome.run_id),
                 request.workspace_root.c_str());
    return outcome.exit_code;
}

}  // namespace

void add_train_command(CLI::App& app, CommonOptions& common, int& exit_code) {
    auto options = std::make_shared<TrainOptions>();
    CLI::App* cmd = app.add_subcommand(
        "train", "Train a model from a recipe (no recipe: the built-in default on builtin:markov)");
    add_run_launch_options(cmd, *options, common, "Recipe YAML file");
    cmd->add_option(
        "--resume", options->resume, "Resume run RUN (id or name) from its latest checkpoint");
    cmd->add_option("--init-from",
                    options->init_from,
                    "Initialise weights from a checkpoint folder or a run (e.g. an import)");
    cmd->add_option("--fork",
                    options->fork,
                    "Start a new run from a checkpoint of run RUN (id or name; @STEP: that step's "
                    "checkpoint, else the latest), with its recipe changed by RECIPE or --set");
    cmd->callback([options, &common, &exit_code] { exit_code = run_train(*options, common); });
}

}  // namespace lowbit::app
