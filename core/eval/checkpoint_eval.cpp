// Checkpoint evaluation (see checkpoint_eval.h).
#include "lowbit/eval/checkpoint_eval.h"

#include "lowbit/eval/token_file.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/train/checkpoint_model.h"
#include "lowbit/util/exit_codes.h"

#include <chrono>

namespace lowbit::eval {
namespace fs = std::filesystem;

torch::Device pick_device(const std::string& choice) {
    if (choice == "cpu")
        return torch::Device(torch::kCPU);
    const bool cuda = torch::cuda::is_available();
    if (choice == "cuda" && !cuda) {
        throw util::BadInput("--device cuda but no CUDA device is available");
    }
    if (choice != "auto" && choice != "cuda") {
        throw util::BadInput("--device '" + choice + "' is not one of auto, cpu, cuda");
    }
    return cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
}

EvalReport evaluate_checkpoint(const EvalRequest& request) {
    std::optional<store::Workspace> workspace;
    if (request.workspace_root && !fs::exists(request.reference)) {
        workspace.emplace(store::Workspace::open(*request.workspace_root));
    }
    train::LoadedModel loaded = train::load_checkpoint_model(request.reference, workspace);
    const int model_context = loaded.model->config().context;
    EvalReport report;
    report.context = request.context > 0 ? request.context : model_context;
    if (report.context > model_context &&
        loaded.model->config().family == config::ModelFamily::kGpt2) {
        throw util::BadInput("--context " + std::to_string(report.context) +
                             " exceeds the model's learned positions (" +
                             std::to_string(model_context) + ")");
    }
    const torch::Device device = pick_device(request.device);
    loaded.model->to(device);
    const std::vector<int64_t> tokens = read_token_file(
        request.data_file, loaded.tokenizer.get(), loaded.model->config().vocab_size);
    report.result = evaluate_perplexity(*loaded.model,
                                        tokens,
                                        report.context,
                                        request.batch_size,
                                        device,
                                        config::Precision::kFp32);
    report.step = loaded.step;
    report.key_prefix = "eval/" + request.data_file.stem().string();
    if (loaded.run && workspace) {
        report.run_id = loaded.run->id;
        store::RunWriter writer(*workspace);
        const double now =
            std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        writer.add_scalar({.run_id = loaded.run->id,
                           .key = report.key_prefix + "/ppl",
                           .step = loaded.step,
                           .value = report.result.perplexity});
        writer.add_scalar({.run_id = loaded.run->id,
                           .key = report.key_prefix + "/nll",
                           .step = loaded.step,
                           .value = report.result.mean_nll});
        writer.flush();
        store::EventRecord event;
        event.run_id = loaded.run->id;
        event.step = loaded.step;
        event.wall_time = now;
        event.kind = "eval";
        event.text = request.data_file.string() + ": ppl " +
                     std::to_string(report.result.perplexity) + " (context " +
                     std::to_string(report.context) + ", " + std::to_string(report.result.windows) +
                     " windows)";
        writer.add_event(event);
    }
    return report;
}

}  // namespace lowbit::eval
