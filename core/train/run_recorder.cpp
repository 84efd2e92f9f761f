// RunRecorder (see run_recorder.h): which rows each run event becomes. The scalar keys are the
// workspace's vocabulary (docs/workspace-schema.md, "Scalars").
#include "lowbit/train/run_recorder.h"

#include <cmath>
#include <type_traits>

namespace lowbit::train {

store::RunStatus status_after(const events::Body& terminal) {
    if (std::holds_alternative<events::Completed>(terminal)) {
        return store::RunStatus::kCompleted;
    }
    if (std::holds_alternative<events::Stopped>(terminal)) {
        return store::RunStatus::kStopped;
    }
    if (std::holds_alternative<events::Diverged>(terminal)) {
        return store::RunStatus::kDiverged;
    }
    return store::RunStatus::kFailed;
}

void RunRecorder::add_scalar(
    const char* key, int64_t step, int64_t tokens, double elapsed, double value) {
    writer_.add_scalar({.run_id = run_id_,
                        .key = key,
                        .step = step,
                        .tokens = tokens,
                        .wall_time = elapsed,
                        .value = value});
}

void RunRecorder::add_event_row(const events::RunEvent& event) {
    writer_.add_event({.run_id = run_id_,
                       .step = event.step,
                       .wall_time = event.time,
                       .kind = events::event_name(event.body),
                       .text = events::describe(event)});
}

void RunRecorder::on_event(const events::RunEvent& event) {
    std::visit(
        [&](const auto& body) {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, events::Started> ||
                          std::is_same_v<T, events::Resumed>) {
                writer_.set_status(run_id_, store::RunStatus::kRunning);
                add_event_row(event);
            } else if constexpr (std::is_same_v<T, events::Step>) {
                writer_.heartbeat();
                if (body.logged) {
                    const int64_t s = event.step;
                    add_scalar("train/loss", s, body.tokens, body.elapsed_s, body.loss);
                    add_scalar("lr", s, body.tokens, body.elapsed_s, body.lr);
                    add_scalar("grad_norm", s, body.tokens, body.elapsed_s, body.grad_norm);
                    // E2E-QP steps carry no weight norm (only the quantization steps change).
                    if (!std::isnan(body.weight_norm)) {
                        add_scalar("weight_norm", s, body.tokens, body.elapsed_s, body.weight_norm);
                    }
                    add_scalar("throughput/tokens_per_s",
                               s,
                               body.tokens,
                               body.elapsed_s,
                               body.tokens_per_s);
                    add_scalar(
                        "tokens", s, body.tokens, body.elapsed_s, static_cast<double>(body.tokens));
                }
            } else if constexpr (std::is_same_v<T, events::Eval>) {
                add_scalar("val/loss", event.step, body.tokens, body.elapsed_s, body.val_loss);
            } else if constexpr (std::is_same_v<T, events::Checkpoint>) {
                writer_.add_checkpoint({.run_id = run_id_,
                                        .step = event.step,
                                        .kind = body.kind,
                                        .path = body.path,
                                        .bytes = body.bytes,
                                        .sha256 = body.sha256,
                                        .created_at = event.time});
                add_event_row(event);
            } else if constexpr (std::is_same_v<T, events::Phase>) {
                add_event_row(event);
            } else if constexpr (std::is_same_v<T, events::BlockEpoch>) {
                writer_.heartbeat();
                writer_.add_block_ap({.run_id = run_id_,
                                      .step = event.step,
                                      .block = body.block,
                                      .epoch = body.epoch,
                                      .train_loss = body.train_loss,
                                      .val_loss = body.val_loss,
                                      .quant_lr = body.quant_lr,
                                      .weight_lr = body.weight_lr,
                                      .seconds = body.seconds,
                                      .peak_memory_bytes = body.peak_memory_bytes,
                                      .wall_time = body.elapsed_s});
            } else if constexpr (std::is_same_v<T, events::BlockDone>) {
                writer_.add_checkpoint({.run_id = run_id_,
                                        .step = event.step,
                                        .kind = "block",
                                        .path = body.path,
                                        .bytes = body.bytes,
                                        .sha256 = body.sha256,
                                        .created_at = event.time});
                add_event_row(event);
            } else if constexpr (std::is_same_v<T, events::Perplexity>) {
                const std::string prefix = "eval/" + body.corpus;
                writer_.add_scalar({.run_id = run_id_,
                                    .key = prefix + "/ppl",
                                    .step = event.step,
                                    .value = body.ppl});
                writer_.add_scalar({.run_id = run_id_,
                                    .key = prefix + "/nll",
                                    .step = event.step,
                                    .value = body.nll});
                add_event_row(event);
            } else if constexpr (std::is_same_v<T, events::Telemetry>) {
                // The histogram and statistics rows are the record; the event only announces them.
            } else {
                static_assert(
                    std::is_same_v<T, events::Completed> || std::is_same_v<T, events::Stopped> ||
                    std::is_same_v<T, events::Diverged> || std::is_same_v<T, events::Failed>);
                writer_.flush();
                add_event_row(event);
                writer_.set_status(run_id_, status_after(event.body));
            }
        },
        event.body);
}

}  // namespace lowbit::train
