// The training loop of `lowbit train`, one readable function with labelled phases
// (step / log / eval / checkpoint / stop), in the spirit of llm.c's main(). Every phase's
// real work is a call into a small file: run_context, adamw, lr_schedule, checkpoint, val_loss.
// What happens is emitted once, as typed run events (docs/progress-events.md), to the
// subscribers: the workspace recorder and the progress sink. In a data-parallel job every rank
// runs this loop on its share of each batch; rank 0 alone records (docs/distributed.md).
#include "lowbit/train/trainer.h"

#include "lowbit/dist/gradient_exchange.h"
#include "lowbit/dist/run_handoff.h"
#include "lowbit/dist/world.h"
#include "lowbit/eval/val_loss.h"
#include "lowbit/io/model_state.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"
#include "lowbit/train/gradient_feedback_state.h"
#include "lowbit/train/gradient_norm.h"
#include "lowbit/train/layer_telemetry.h"
#include "lowbit/train/lr_schedule.h"
#include "lowbit/train/replica_sync.h"
#include "lowbit/train/run_context.h"
#include "lowbit/train/run_recorder.h"
#include "lowbit/train/sharded_optimizer.h"
#include "lowbit/util/autocast_guard.h"
#include "lowbit/util/exit_codes.h"
#include "lowbit/util/peak_memory.h"
#include "lowbit/util/stop_signal.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <optional>
#include <vector>

namespace lowbit::train {
namespace fs = std::filesystem;

namespace {

// Writes a checkpoint of the current state with the optimizer's complete `optimizer_state` and
// every rank's error-feedback memory (empty without); the returned event records it.
events::Checkpoint save_checkpoint(RunContext& run,
                                   const fs::path& workspace_root,
                                   int64_t step,
                                   double wall_time,
                                   OptimizerState optimizer_state,
                                   NamedTensors gradient_feedback) {
    CheckpointContent content;
    content.step = step;
    content.tokens_seen = run.tokens_seen;
    content.wall_time = wall_time;
    content.model_config = model::to_json(run.model->config());
    content.tokenizer = run.tokenizer_info;
    content.extra = {{"data_cursor_step", step}};
    content.model = io::model_state(*run.model);
    content.optimizer = std::move(optimizer_state);
    content.rng = capture_rng_state(run.device);
    content.gradient_feedback = std::move(gradient_feedback);
    const WrittenCheckpoint written =
        write_checkpoint(checkpoint_dir_name(run.run_dir, step), content, run.tokenizer_model);
    return {.path = fs::relative(written.dir, workspace_root).string(),
            .bytes = written.bytes,
            .sha256 = written.manifest_sha256};
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

// Rank 0 builds the run (recording it in the workspace) and hands it to the other ranks; they
// build theirs from the handoff. Then all take rank 0's state.
RunContext build_run_context(const TrainRequest& request,
                             dist::World& world,
                             std::optional<store::Workspace>& workspace,
                             std::optional<store::RunWriter>& writer) {
    RunContext run;
    if (world.is_writer()) {
        try {
            workspace.emplace(store::Workspace::open(request.workspace_root));
            writer.emplace(*workspace, store::kTrainingBatchRows, store::kTrainingBatchAgeS);
            run = !request.resume_run.empty()
                      ? resume_run_context(request, *workspace, *writer, world)
                  : !request.fork_from.empty()
                      ? fork_run_context(request, *workspace, *writer, world)
                      : create_run_context(request, *workspace, *writer, world);
        } catch (const std::exception& e) {
            dist::post_run_failure(world, kRunHandoffKey, e.what());
            throw;
        }
        dist::post_run_start(world, kRunHandoffKey, run_handoff(run));
    } else {
        run = follower_run_context(request, world);
    }
    broadcast_training_state(world, run);
    return run;
}

}  // namespace

TrainOutcome run_training(const TrainRequest& request, events::RunEventSink& progress) {
    const std::unique_ptr<dist::World> world =
        dist::World::join(request.launch, request.collective_timeout);
    std::optional<store::Workspace> workspace;
    std::optional<store::RunWriter> writer;  // rank 0 only
    RunContext run = build_run_context(request, *world, workspace, writer);
    const config::TrainSpec& spec = run.recipe.train;
    const int batch = spec.batch_size;  // the global batch; each rank takes rows_per_rank of it
    const int rows_per_rank = batch / world->size();
    const int64_t rank_row_offset = static_cast<int64_t>(world->rank()) * rows_per_rank;
    // A share goes through the model in `passes` passes of rows_per_pass rows (docs/training.md
    // §Passes).
    const int rows_per_pass = run.rows_per_pass;
    const int passes = rows_per_rank / rows_per_pass;
    const int context = run.recipe.model.context;
    const int64_t tokens_per_step = static_cast<int64_t>(batch) * context * spec.grad_accum;
    const bool bf16 = spec.precision == config::Precision::kBf16;
    std::vector<torch::Tensor> parameters = run.model->parameters();
    LayerTelemetry telemetry(run.recipe, *run.model);

    std::optional<RunRecorder> recorder;
    events::RunEventStream stream;
    if (writer) {
        recorder.emplace(*writer, run.run_id);
        stream.subscribe(*recorder);
    }
    stream.subscribe(progress);

    // The summary holds only what the scalars and events cannot give (docs/workspace-schema.md).
    nlohmann::json summary = run.previous_summary;
    // What each rank holds; sharded (docs/distributed.md §Sharded optimizer state), the run's
    // state is the sum of the shares, else every rank holds all of it.
    std::vector<torch::Tensor> state_bytes_per_rank{torch::zeros({world->size()}, torch::kFloat64)};
    state_bytes_per_rank[0][world->rank()] = static_cast<double>(run.optimizer->state_bytes());
    world->allreduce_sum(state_bytes_per_rank);
    const bool sharded_state =
        dynamic_cast<const ShardedOptimizer*>(run.optimizer.get()) != nullptr;
    const double run_state_bytes = sharded_state ? state_bytes_per_rank[0].sum().item<double>()
                                                 : state_bytes_per_rank[0][0].item<double>();
    summary.update(nlohmann::json{{"parameters", run.model->parameter_count()},
                                  {"device", run.device.str()},
                                  {"data_dir", run.data.dir.string()},
                                  {"train_tokens", run.train_shard->size()},
                                  {"val_tokens", run.val_shard->size()},
                                  {"tokenizer", run.tokenizer_info},
                                  {"optimizer_state_bytes", static_cast<int64_t>(run_state_bytes)},
                                  {"world_size", world->size()},
                                  {"launcher", request.launch.launcher}});
    if (world->size() > 1) {
        nlohmann::json per_rank = nlohmann::json::array();
        for (int r = 0; r < world->size(); ++r) {
            per_rank.push_back(static_cast<int64_t>(state_bytes_per_rank[0][r].item<double>()));
        }
        summary["optimizer_state_bytes_per_rank"] = per_rank;
        summary["gradient_collectives"] = world->group_name_for(parameters.front());
    }
    if (run.entropy_floor) {
        summary["entropy_floor_nats"] = *run.entropy_floor;
    }
    if (writer) {
        writer->set_summary(run.run_id, summary.dump());
        writer->attach_process(run.run_id);
    }
    if (run.resumed) {
        stream.emit(run.start_step,
                    events::Resumed{.run_id = run.run_id,
                                    .run_dir = run.run_dir.string(),
                                    .device = run.device.str(),
                                    .parameters = run.model->parameter_count(),
                                    .steps = spec.steps,
                                    .tokens_per_step = tokens_per_step,
                                    .checkpoint = run.resumed_from});
    } else {
        // A fork starts at its fork step (docs/progress-events.md, "started").
        stream.emit(run.start_step,
                    events::Started{.run_id = run.run_id,
                                    .run_dir = run.run_dir.string(),
                                    .device = run.device.str(),
                                    .parameters = run.model->parameter_count(),
                                    .steps = spec.steps,
                                    .tokens_per_step = tokens_per_step,
                                    .init_from = run.init_from.string(),
                                    .parent_run_id = run.parent_run_id.value_or(0),
                                    .fork_checkpoint = run.forked_from});
    }

    std::vector<int64_t> inputs(static_cast<size_t>(batch) * context);
    std::vector<int64_t> targets(inputs.size());
    const auto process_start = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return run.wall_time_before +
               std::chrono::duration<double>(std::chrono::steady_clock::now() - process_start)
                   .count();
    };
    auto evaluate = [&](int64_t step) {
        // Each rank evaluates its share of every validation batch's rows, pass by pass; the
        // mean of the passes' and shares' losses is the whole batches' loss.
        double share_loss_sum = 0;
        for (int pass = 0; pass < passes; ++pass) {
            share_loss_sum += eval::estimate_loss(
                *run.model,
                *run.val_sampler,
                spec.eval_batches,
                batch,
                context,
                run.device,
                spec.precision,
                {.first = static_cast<int>(rank_row_offset) + pass * rows_per_pass,
                 .count = rows_per_pass});
        }
        std::vector<torch::Tensor> val_loss{torch::tensor({share_loss_sum}, torch::kFloat64)};
        world->allreduce_sum(val_loss);
        stream.emit(step,
                    events::Eval{.val_loss = val_loss[0].item<double>() / (world->size() * passes),
                                 .tokens = run.tokens_seen,
                                 .elapsed_s = elapsed()});
    };
    // ---- end of run ---- the one path every run ends by: the summary's last facts, then the
    // terminal event (the recorder sets the status from it).
    TrainOutcome outcome;
    outcome.run_id = run.run_id;
    outcome.run_dir = run.run_dir;
    double communication_seconds = 0;  // in collectives of the step, waiting for peers included
    dist::GradientExchange gradient_exchange(run.recipe.distributed);
    // A resumed run continues from its checkpoint's error-feedback memory.
    restore_gradient_feedback(*world, gradient_exchange, run.gradient_feedback);
    auto finish = [&](int64_t step, events::Body terminal) {
        record_peak_memory(summary, run.device);
        if (world->size() > 1) {
            summary["communication_seconds"] = communication_seconds;
            summary["allreduce_bytes"] = world->allreduce_bytes();
            summary["gradient_bytes_sent"] = gradient_exchange.bytes_sent();
            summary["error_feedback_bytes"] = gradient_exchange.residual_bytes();
        }
        if (writer) {
            writer->set_summary(run.run_id, summary.dump());
        }
        outcome.status = status_after(terminal);
        outcome.exit_code =
            outcome.status == store::RunStatus::kDiverged ? util::kExitDiverged : util::kExitOk;
        outcome.summary = summary;
        stream.emit(step, std::move(terminal));
        return outcome;
    };
    std::deque<double> recent_step_seconds;
    int64_t current_step = run.start_step;  // optimizer steps completed

    try {
        if (!run.resumed) {
            // The untrained model's loss anchors every curve; a fork's, the loss at its fork step.
            evaluate(run.start_step);
        }
        for (int64_t step = run.start_step; step < spec.steps; ++step) {
            // ---- step ----
            const auto step_start = std::chrono::steady_clock::now();
            const double lr = learning_rate_at(step, spec);
            const bool log_telemetry = writer && telemetry.begin_step(step + 1);
            for (auto& p : parameters) {
                p.mutable_grad() = torch::Tensor();
            }
            // Summed on the device in float64 (each loss exactly, in micro-batch order) and read
            // once per step, with the gradient norm.
            torch::Tensor loss_sum =
                torch::zeros({}, torch::dtype(torch::kFloat64).device(run.device));
            for (int micro = 0; micro < spec.grad_accum; ++micro) {
                // The whole global batch is drawn (a pure function of seed, step and micro-step)
                // and this rank takes its rows: N ranks see exactly the rows one rank would.
                run.train_sampler->sample_train(step, micro, batch, inputs.data(), targets.data());
                run.model->set_quant_step(step, micro);  // seeds stochastic rounding, rank-free
                for (int pass = 0; pass < passes; ++pass) {
                    const int64_t first = (rank_row_offset + pass * rows_per_pass) * context;
                    auto x = torch::from_blob(
                                 inputs.data() + first, {rows_per_pass, context}, torch::kInt64)
                                 .to(run.device);
                    auto y = torch::from_blob(
                                 targets.data() + first, {rows_per_pass, context}, torch::kInt64)
                                 .to(run.device);
                    torch::Tensor loss;
                    {
                        util::AutocastGuard autocast(run.device.type(), bf16);
                        loss = model::lm_loss(run.model->forward(x), y);
                    }
                    (loss / spec.grad_accum).backward();
                    loss_sum += loss.detach().to(torch::kFloat64);
                }
            }
            if (passes > 1) {
                // The passes' gradients were summed; their mean is the share's gradient, divided
                // after the sum as the ranks' (docs/training.md §Passes).
                torch::NoGradGuard no_grad;
                for (auto& p : parameters) {
                    if (p.grad().defined()) {
                        p.mutable_grad().div_(static_cast<double>(passes));
                    }
                }
            }
            // Each rank's loss and gradients are means over its equal share of rows, so the
            // means over ranks are the global batch's (docs/distributed.md §Gradients).
            // A stop request on any rank travels with the loss, so every rank stops after the
            // same step (a single process reads its own flag at the checkpoint below).
            bool any_rank_stopping = false;
            if (world->size() > 1) {
                const auto communication_start = std::chrono::steady_clock::now();
                // (2,) float32: this rank's loss sum and stop flag, summed over the ranks.
                torch::Tensor riders =
                    torch::stack({loss_sum.to(torch::kFloat32).cpu(),
                                  torch::tensor(util::stop_requested() ? 1.0f : 0.0f)});
                gradient_exchange.average(*world, parameters, riders);
                loss_sum = riders[0].to(torch::kFloat64).div(world->size()).to(run.device);
                any_rank_stopping = riders[1].item<float>() > 0;
                communication_seconds += std::chrono::duration<double>(
                                             std::chrono::steady_clock::now() - communication_start)
                                             .count();
            }
            const torch::Tensor grad_norm_tensor = spec.grad_clip > 0
                                                       ? clip_gradients(parameters, spec.grad_clip)
                                                       : global_norm(parameters, true);
            // The step's one host read: [loss sum, gradient norm].
            const torch::Tensor read =
                torch::stack({loss_sum, grad_norm_tensor.to(torch::kFloat64)}).cpu();
            const double train_loss = read[0].item<double>() / (spec.grad_accum * passes);
            const double grad_norm = read[1].item<double>();
            if (!std::isfinite(train_loss) || !std::isfinite(grad_norm)) {
                // The step that diverged is logged whatever train.log_every says: its non-finite
                // value is what the charts and the studio's sentinel must see (docs/progress-
                // events.md, "step"). No update was applied.
                const double seconds =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start)
                        .count();
                stream.emit(
                    step + 1,
                    events::Step{.steps = spec.steps,
                                 .loss = train_loss,
                                 .lr = lr,
                                 .grad_norm = grad_norm,
                                 .weight_norm = global_norm(parameters, false).item<double>(),
                                 .tokens = run.tokens_seen + tokens_per_step,
                                 .tokens_per_s =
                                     static_cast<double>(tokens_per_step) / std::max(seconds, 1e-9),
                                 .eta_s = 0,
                                 .elapsed_s = elapsed(),
                                 .logged = true});
                return finish(step + 1,
                              events::Diverged{
                                  .what = !std::isfinite(train_loss) ? "loss" : "gradient norm"});
            }
            if (log_telemetry) {
                telemetry.before_update(*run.optimizer);
            }
            run.optimizer->step(lr);
            run.tokens_seen += tokens_per_step;
            const int64_t done = step + 1;
            current_step = done;
            if (log_telemetry) {
                const std::size_t tensors = telemetry.finish_step(done, *writer, run.run_id);
                stream.emit(done, events::Telemetry{.tensors = static_cast<int64_t>(tensors)});
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
            const bool logged = done % spec.log_every == 0 || done == spec.steps;
            stream.emit(
                done,
                events::Step{.steps = spec.steps,
                             .loss = train_loss,
                             .lr = lr,
                             .grad_norm = grad_norm,
                             .weight_norm = logged ? global_norm(parameters, false).item<double>()
                                                   : std::nan(""),
                             .tokens = run.tokens_seen,
                             .tokens_per_s = static_cast<double>(tokens_per_step) / mean_step,
                             .eta_s = mean_step * static_cast<double>(spec.steps - done),
                             .elapsed_s = elapsed(),
                             .logged = logged});

            // ---- eval ----
            if (done % spec.eval_every == 0 || done == spec.steps) {
                check_replicas_identical(*world, parameters, done);
                evaluate(done);
            }

            // ---- checkpoint ----
            const bool stopping = world->size() > 1 ? any_rank_stopping : util::stop_requested();
            if (done % spec.checkpoint_every == 0 || done == spec.steps || stopping) {
                // Every rank takes part: a sharded optimizer gathers its state on rank 0, and so
                // does error feedback its memory.
                OptimizerState optimizer_state = run.optimizer->state();
                NamedTensors gradient_feedback =
                    gather_gradient_feedback(*world, gradient_exchange);
                if (writer) {
                    writer->flush();
                    stream.emit(done,
                                save_checkpoint(run,
                                                workspace->root(),
                                                done,
                                                elapsed(),
                                                std::move(optimizer_state),
                                                std::move(gradient_feedback)));
                }
            }

            // ---- stop ----
            if (stopping) {
                return finish(done, events::Stopped{.signal = util::stop_signal_number()});
            }
        }
    } catch (const std::exception& e) {
        // The failure is recorded at the step it happened; if the store itself is what failed
        // (disk full), recording may fail too and the original error is what the user sees.
        try {
            finish(current_step, events::Failed{.error = e.what()});
        } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): report the first error
        }
        throw;
    }
    return finish(spec.steps, events::Completed{});
}

}  // namespace lowbit::train
