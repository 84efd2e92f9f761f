// `lowbit eval CHECKPOINT_OR_RUN --data FILE [--context N]`.
#include "lowbit/eval/checkpoint_eval.h"

#include <cstdio>

#include "commands.h"

namespace lowbit::app {

void add_eval_command(CLI::App& app, CommonOptions& common, int& exit_code) {
    struct Options {
        std::string reference;
        std::string data;
        int context = 0;
        int batch_size = 8;
        std::string device = "auto";
    };

    auto options = std::make_shared<Options>();
    CLI::App* cmd = app.add_subcommand(
        "eval", "Perplexity of a checkpoint or run on a text/token file (non-overlapping windows)");
    cmd->add_option("reference", options->reference, "Checkpoint folder, or run id/name")
        ->required();
    cmd->add_option("--data", options->data, "UTF-8 text file or .bin token file")->required();
    cmd->add_option("--context", options->context, "Window length (default: the model's context)")
        ->check(CLI::Range(2, 1 << 20));
    cmd->add_option("--batch-size", options->batch_size, "Windows per forward pass")
        ->check(CLI::Range(1, 4096));
    cmd->add_option("--device", options->device, "auto|cpu|cuda")
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    cmd->add_option("--workspace,-w", common.workspace, "Workspace folder");
    cmd->callback([options, &common, &exit_code] {
        eval::EvalRequest request;
        request.reference = options->reference;
        request.workspace_root = resolve_workspace(common);
        request.data_file = options->data;
        request.context = options->context;
        request.batch_size = options->batch_size;
        request.device = options->device;
        const eval::EvalReport report = eval::evaluate_checkpoint(request);
        std::printf("%s: ppl %.4f  nll %.5f nats/token  (%lld windows of %d, %lld tokens scored)\n",
                    options->data.c_str(),
                    report.result.perplexity,
                    report.result.mean_nll,
                    static_cast<long long>(report.result.windows),
                    report.context,
                    static_cast<long long>(report.result.scored_tokens));
        if (report.run_id) {
            std::printf("stored as %s/{ppl,nll} of run %lld at step %lld\n",
                        report.key_prefix.c_str(),
                        static_cast<long long>(*report.run_id),
                        static_cast<long long>(report.step));
        }
        exit_code = 0;
    });
}

}  // namespace lowbit::app
