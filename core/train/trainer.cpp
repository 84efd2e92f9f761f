// The training loop of `lowbit train`, one readable function with labelled phases
// (step / log / eval / checkpoint / stop), in the spirit of llm.c's main(). Every phase's
// real work is a call into a small file: run_context, adamw, lr_schedule, checkpoint, val_loss.
#include "lowbit/train/trainer.h"

#include "lowbit/eval/val_loss.h"
#include "lowbit/io/model_state.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"
#include "lowbit/train/layer_telemetry.h"
#include "lowbit/train/lr_schedule.h"
#include "lowbit/train/run_context.h"
#include "lowbit/util/autocast_guard.h"
#include "lowbit/util/exit_codes.h"
#include "lowbit/util/peak_memory.h"
#include "lowbit/util/stop_signal.h"

#include <chrono>
#include <cmath>
#include <deque>
#include <vector>

namespace lowbit::train {
namespace fs = std::filesystem;

namespace {

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

store::EventRecord make_event(int64_t run_id, int64_t step, std::string kind, std::string text) {
    store::EventRecord event;
    event.run_id = run_id;
    event.step = step;
    event.wall_time = unix_now();
    event.kind = std::move(kind);
    event.text = std::move(text);
    return event;
}

double global_norm(const std::vector<torch::Tensor>& tensors, bool of_grads) {
    torch::NoGradGuard no_grad;
    double sumsq = 0;
    for (const auto& t : tensors) {
        const torch::Tensor& x = of_grads ? t.grad() : t;
        if (x.defined()) {
            sumsq += x.to(torch::kFloat64).square().sum().item<double>();
        }
    }
    return std::sqrt(sumsq);
}

// Writes a checkpoint of the current state and records it (file row + event).
void save_checkpoint(RunContext& run,
                     store::RunWriter& writer,
                     const fs::path& workspace_root,
                     int64_t step,
                     double wall_time,
                     ProgressSink& progress) {
    CheckpointContent content;
    content.step = step;
    content.tokens_seen = run.tokens_seen;
    content.wall_time = wall_time;
    content.model_config = model::to_json(run.model->config());
    content.tokenizer = run.tokenizer_info;
    content.extra = {{"best_val_loss", run.best_val_loss}, {"data_cursor_step", step}};
    content.model = io::model_state(*run.model);
    content.optimizer = run.optimizer->state();
    content.rng = capture_rng_state(run.device);
    const WrittenCheckpoint written =
        write_checkpoint(checkpoint_dir_name(run.run_dir, step), content, run.tokenizer_model);
    store::FileRecord record;
    record.run_id = run.run_id;
    record.step = step;
    record.kind = "checkpoint";
    record.path = fs::relative(written.dir, workspace_root).string();
    record.bytes = written.bytes;
    record.sha256 = written.manifest_sha256;
    record.created_at = unix_now();
    writer.add_checkpoint(record);
    writer.add_event(make_event(run.run_id, step, "checkpoint", record.path));
    progress.on_event("checkpoint", step, {{"path", record.path}, {"bytes", record.bytes}});
}

// Mirrors the flat summary keys into the {"final": {...}, "best": {...}} maps that the store's
// run reports (runs list/show, the GUI) read.
void fill_report_maps(nlohmann::json& summary) {
    auto copy = [&](const char* from, const char* map, const char* key) {
        if (summary.contains(from) && summary[from].is_number()) {
            summary[map][key] = summary[from];
        }
    };
    copy("final_train_loss", "final", "train/loss");
    copy("final_val_loss", "final", "val/loss");
    copy("best_val_loss", "best", "val/loss");
}

// Peak memory of the process (and of the CUDA allocator on a GPU), so configurations that store
// tensors differently can be compared on what they used.
void record_peak_memory(nlohmann::json& summary, const torch::Device& device) {
    if (const auto rss = util::peak_resident_bytes()) {
        summary["peak_rss_bytes"] = *rss;
    }
    if (device.is_cuda()) {
        if (const auto peak =
                util::cuda_peak_allocated_bytes(device.index() < 0 ? 0 : device.index())) {
            summary["cuda_peak_allocated_bytes"] = *peak;
        }
    }
}

}  // namespace

TrainOutcome run_training(const TrainRequest& request, ProgressSink& progress) {
    store::Workspace workspace = store::Workspace::open(request.workspace_root);
    store::RunWriter writer(workspace);
    RunContext run = request.resume_run.empty() ? create_run_context(request, workspace, writer)
                                                : resume_run_context(request, workspace, writer);
    const config::TrainSpec& spec = run.recipe.train;
    const int batch = spec.batch_size;
    const int context = run.recipe.model.context;
    const int64_t tokens_per_step = static_cast<int64_t>(batch) * context * spec.grad_accum;
    const bool bf16 = spec.precision == config::Precision::kBf16;
    std::vector<torch::Tensor> parameters = run.model->parameters();
    LayerTelemetry telemetry(run.recipe, *run.model);

    TrainOutcome outcome;
    outcome.run_id = run.run_id;
    outcome.run_dir = run.run_dir;
    nlohmann::json summary = run.previous_summary;
    summary.update(nlohmann::json{{"parameters", run.model->parameter_count()},
                                  {"device", run.device.str()},
                                  {"data_dir", run.data.dir.string()},
                                  {"train_tokens", run.train_shard->size()},
                                  {"val_tokens", run.val_shard->size()},
                                  {"tokenizer", run.tokenizer_info},
                                  {"optimizer_state_bytes", run.optimizer->state_bytes()}});
    if (run.entropy_floor) {
        summary["entropy_floor_nats"] = *run.entropy_floor;
    }
    fill_report_maps(summary);
    writer.set_summary(run.run_id, summary.dump());
    writer.set_status(run.run_id, store::RunStatus::kRunning);
    const char* start_kind = run.resumed ? "resumed" : "started";
    if (!run.resumed) {
        writer.add_event(make_event(run.run_id, 0, "started", "device " + run.device.str()));
    }
    progress.on_event(start_kind,
                      run.start_step,
                      {{"run_id", run.run_id},
                       {"run_dir", run.run_dir.string()},
                       {"device", run.device.str()},
                       {"parameters", run.model->parameter_count()}});

    std::vector<int64_t> inputs(static_cast<size_t>(batch) * context);
    std::vector<int64_t> targets(inputs.size());
    const auto process_start = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return run.wall_time_before +
               std::chrono::duration<double>(std::chrono::steady_clock::now() - process_start)
                   .count();
    };
    auto record_scalar = [&](const char* key, int64_t step, double value) {
        writer.add_scalar({.run_id = run.run_id,
                           .key = key,
                           .step = step,
                           .tokens = run.tokens_seen,
                           .wall_time = elapsed(),
                           .value = value});
    };
    auto evaluate = [&](int64_t step) {
        const double val_loss = eval::estimate_loss(*run.model,
                                                    *run.val_sampler,
                                                    spec.eval_batches,
                                                    batch,
                                                    context,
                                                    run.device,
                                                    spec.precision);
        run.best_val_loss = std::min(run.best_val_loss, val_loss);
        record_scalar("val/loss", step, val_loss);
        record_scalar("val/ppl", step, std::exp(val_loss));
        writer.add_event(
            make_event(run.run_id, step, "eval", "val/loss " + std::to_string(val_loss)));
        progress.on_event("eval", step, {{"val_loss", val_loss}, {"val_ppl", std::exp(val_loss)}});
        summary["final_val_loss"] = val_loss;
        summary["best_val_loss"] = run.best_val_loss;
    };
    std::deque<double> recent_step_seconds;
    double last_train_loss = std::nan("");

    try {
        if (!run.resumed) {
            evaluate(0);  // the untrained model's loss anchors every curve
        }
        for (int64_t step = run.start_step; step < spec.steps; ++step) {
            // ---- step ----
            const auto step_start = std::chrono::steady_clock::now();
            const double lr = learning_rate_at(step, spec);
            const bool log_telemetry = telemetry.begin_step(step + 1);
            for (auto& p : parameters) {
                p.mutable_grad() = torch::Tensor();
            }
            double loss_sum = 0;
            for (int micro = 0; micro < spec.grad_accum; ++micro) {
                run.train_sampler->sample_train(step, micro, batch, inputs.data(), targets.data());
                run.model->set_quant_step(step, micro);  // seeds stochastic rounding
                auto x =
                    torch::from_blob(inputs.data(), {batch, context}, torch::kInt64).to(run.device);
                auto y = torch::from_blob(targets.data(), {batch, context}, torch::kInt64)
                             .to(run.device);
                torch::Tensor loss;
                {
                    util::AutocastGuard autocast(run.device.type(), bf16);
                    loss = model::lm_loss(run.model->forward(x), y);
                }
                (loss / spec.grad_accum).backward();
                loss_sum += loss.item<double>();
            }
            const double train_loss = loss_sum / spec.grad_accum;
            const double grad_norm =
                spec.grad_clip > 0 ? torch::nn::utils::clip_grad_norm_(parameters, spec.grad_clip)
                                   : global_norm(parameters, true);
            if (!std::isfinite(train_loss) || !std::isfinite(grad_norm)) {
                const std::string what = !std::isfinite(train_loss) ? "loss" : "gradient norm";
                writer.add_event(
                    make_event(run.run_id,
                               step + 1,
                               "diverged",
                               what + " is not finite at step " + std::to_string(step + 1)));
                progress.on_event("diverged", step + 1, {{"what", what}});
                summary["diverged_at_step"] = step + 1;
                fill_report_maps(summary);
                writer.set_summary(run.run_id, summary.dump());
                writer.set_status(run.run_id, store::RunStatus::kDiverged);
                outcome.status = store::RunStatus::kDiverged;
                outcome.exit_code = util::kExitDiverged;
                outcome.summary = summary;
                return outcome;
            }
            if (log_telemetry) {
                telemetry.add_before_update(*run.optimizer);
            }
            run.optimizer->step(lr);
            run.tokens_seen += tokens_per_step;
            last_train_loss = train_loss;
            const int64_t done = step + 1;
            if (log_telemetry) {
                const std::size_t tensors = telemetry.finish_step(done, writer, run.run_id);
                progress.on_event("telemetry", done, {{"tensors", tensors}});
            }

            // ---- log ----
            const double step_seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start)
                    .count();
            recent_step_seconds.push_back(step_seconds);
            if (recent_step_seconds.size() > 20) {
                recent_step_seconds.pop_front();
            }
            double mean_step = 0;
            for (double s : recent_step_seconds) {
                mean_step += s;
            }
            mean_step /= static_cast<double>(recent_step_seconds.size());
            const double tokens_per_s = static_cast<double>(tokens_per_step) / mean_step;
            if (done % spec.log_every == 0 || done == spec.steps) {
                record_scalar("train/loss", done, train_loss);
                record_scalar("lr", done, lr);
                record_scalar("grad_norm", done, grad_norm);
                record_scalar("weight_norm", done, global_norm(parameters, false));
                record_scalar("throughput/tokens_per_s", done, tokens_per_s);
                record_scalar("tokens", done, static_cast<double>(run.tokens_seen));
            }
            progress.on_step({.step = done,
                              .steps = spec.steps,
                              .loss = train_loss,
                              .lr = lr,
                              .grad_norm = grad_norm,
                              .tokens_per_s = tokens_per_s,
                              .eta_s = mean_step * static_cast<double>(spec.steps - done),
                              .tokens = run.tokens_seen});

            // ---- eval ----
            if (done % spec.eval_every == 0 || done == spec.steps) {
                evaluate(done);
            }

            // ---- checkpoint ----
            const bool stopping = util::stop_requested();
            if (done % spec.checkpoint_every == 0 || done == spec.steps || stopping) {
                writer.flush();
                save_checkpoint(run, writer, workspace.root(), done, elapsed(), progress);
            }

            // ---- stop ----
            if (stopping) {
                summary["final_train_loss"] = train_loss;
                summary["steps_done"] = done;
                summary["tokens_seen"] = run.tokens_seen;
                summary["wall_time_s"] = elapsed();
                writer.add_event(
                    make_event(run.run_id,
                               done,
                               "stopped",
                               "stopped by signal " + std::to_string(util::stop_signal_number())));
                progress.on_event("stopped", done, {{"signal", util::stop_signal_number()}});
                fill_report_maps(summary);
                writer.set_summary(run.run_id, summary.dump());
                writer.set_status(run.run_id, store::RunStatus::kStopped);
                outcome.status = store::RunStatus::kStopped;
                outcome.exit_code = util::kExitOk;
                outcome.summary = summary;
                return outcome;
            }
        }
    } catch (const std::exception& e) {
        writer.flush();
        writer.add_event(make_event(run.run_id, run.start_step, "failed", e.what()));
        writer.set_status(run.run_id, store::RunStatus::kFailed);
        progress.on_event("failed", run.start_step, {{"error", e.what()}});
        throw;
    }

    // ---- finish ----
    record_peak_memory(summary, run.device);
    summary["final_train_loss"] = last_train_loss;
    summary["steps_done"] = spec.steps;
    summary["tokens_seen"] = run.tokens_seen;
    summary["wall_time_s"] = elapsed();
    writer.flush();
    writer.add_event(make_event(run.run_id, spec.steps, "completed", ""));
    fill_report_maps(summary);
    writer.set_summary(run.run_id, summary.dump());
    writer.set_status(run.run_id, store::RunStatus::kCompleted);
    progress.on_event("completed",
                      spec.steps,
                      {{"run_id", run.run_id},
                       {"final_val_loss", summary.value("final_val_loss", 0.0)},
                       {"run_dir", run.run_dir.string()}});
    outcome.status = store::RunStatus::kCompleted;
    outcome.exit_code = util::kExitOk;
    outcome.summary = summary;
    return outcome;
}

}  // namespace lowbit::train
