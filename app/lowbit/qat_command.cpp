// `lowbit qat RECIPE.yaml [--set ...]` and `lowbit qat --resume RUN`: EfficientQAT, RTN or GPTQ
// on a trained model (docs/efficientqat.md), with the same conventions as `lowbit train`.
#include "lowbit/config/recipe_yaml.h"
#include "lowbit/dist/launch_environment.h"
#include "lowbit/qat/qat_run.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_results.h"
#include "lowbit/train/progress.h"
#include "lowbit/util/exit_codes.h"
#include "lowbit/util/stop_signal.h"

#include <cstdio>

#include "commands.h"

namespace lowbit::app {

namespace {

using QatOptions = RunLaunchOptions;

int run_qat_command(const QatOptions& options, const CommonOptions& common) {
    if (const auto launcher_exit = run_local_ranks_if_asked(options, options.resume.empty())) {
        return *launcher_exit;
    }
    qat::QatRequest request;
    request.launch = dist::launch_environment_of_process();
    request.collective_timeout = options.collective_timeout();
    request.workspace_root = resolve_workspace(common);
    request.name = options.name;
    request.device = options.device;
    request.resume_run = options.resume;
    request.tags = options.tags;
    request.group = options.group;
    if (options.resume.empty()) {
        if (options.recipe_file.empty()) {
            throw util::BadInput(
                "lowbit qat needs a recipe with a qat: section (or --resume RUN); "
                "`lowbit recipe defaults` prints every qat key");
        }
        request.recipe = config::load_recipe_file(options.recipe_file, options.overrides);
    } else if (!options.recipe_file.empty() || !options.overrides.empty()) {
        throw util::BadInput(
            "--resume continues a run with its stored recipe; "
            "a recipe file or --set cannot be combined with it");
    }
    // Rank 0 reports for the whole job; the other ranks are silent unless they fail.
    const bool reporter = request.launch.rank == 0;
    const auto mode =
        reporter ? train::progress_mode_from_string(options.progress) : train::ProgressMode::kNone;
    auto progress = train::make_progress_sink(mode);
    util::install_stop_handlers();
    const qat::QatOutcome outcome = qat::run_qat(request, *progress);
    if (!reporter) {
        return outcome.exit_code;
    }
    FILE* out = mode == train::ProgressMode::kJsonl ? stderr : stdout;
    std::fprintf(out,
                 "run %lld %s; recorded in %s (folder %s)\n",
                 static_cast<long long>(outcome.run_id),
                 store::to_string(outcome.status),
                 (std::filesystem::path(request.workspace_root) / "runs.sqlite").c_str(),
                 outcome.run_dir.c_str());
    if (!outcome.packed_model.empty() && outcome.summary.contains("bits_per_param")) {
        std::fprintf(out,
                     "packed model %s: %.3f bits per block weight, %lld bytes\n",
                     outcome.packed_model.c_str(),
                     outcome.summary["bits_per_param"].get<double>(),
                     static_cast<long long>(outcome.summary["model_bytes"].get<int64_t>()));
    }
    const store::Workspace workspace =
        store::Workspace::open(request.workspace_root, store::OpenMode::kReadOnly);
    const store::RunReader reader(workspace);
    const store::RunResults results = store::run_results(reader, outcome.run_id);
    for (const std::string& key : reader.scalar_keys(outcome.run_id)) {
        if (key.starts_with("eval/") && key.ends_with("/ppl")) {
            std::fprintf(out, "%s %.4f\n", key.c_str(), results.final_value(key).value_or(0));
        }
    }
    std::fprintf(out,
                 "see: lowbit runs show %lld --workspace %s\n",
                 static_cast<long long>(outcome.run_id),
                 request.workspace_root.c_str());
    return outcome.exit_code;
}

}  // namespace

void add_qat_command(CLI::App& app, CommonOptions& common, int& exit_code) {
    auto options = std::make_shared<QatOptions>();
    CLI::App* cmd = app.add_subcommand(
        "qat",
        "Quantize a trained model to packed 2/3/4/8-bit weights: EfficientQAT (Block-AP, then "
        "E2E-QP), RTN or GPTQ, as the recipe's qat: section says");
    add_run_launch_options(cmd, *options, common, "Recipe YAML file with a qat: section");
    cmd->add_option("--resume",
                    options->resume,
                    "Resume qat run RUN (id or name) after its last finished block");
    cmd->callback(
        [options, &common, &exit_code] { exit_code = run_qat_command(*options, common); });
}

}  // namespace lowbit::app
