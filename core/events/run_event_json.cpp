// JSON (de)serialisation of run events: each struct's fields are listed once, in the
// NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE lines below, and become the keys of its JSON line next to
// the envelope keys `format`, `event`, `step` and `time` (docs/progress-events.md).
#include "lowbit/events/run_event_json.h"

#include <array>
#include <limits>
#include <string_view>
#include <utility>

namespace lowbit::events {

// Events stored before forks existed have no parent fields: they read as 0 and "".
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Started,
                                                run_id,
                                                run_dir,
                                                device,
                                                parameters,
                                                steps,
                                                tokens_per_step,
                                                init_from,
                                                parent_run_id,
                                                fork_checkpoint)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(
    Resumed, run_id, run_dir, device, parameters, steps, tokens_per_step, checkpoint)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(
    Step, steps, loss, lr, grad_norm, weight_norm, tokens, tokens_per_s, eta_s, elapsed_s, logged)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Eval, val_loss, tokens, elapsed_s)
// Events stored before packed models existed have no kind: they read as "checkpoint".
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Checkpoint, path, bytes, sha256, kind)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Telemetry, tensors)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Phase, name, blocks, steps, elapsed_s)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(BlockEpoch,
                                   block,
                                   blocks,
                                   epoch,
                                   epochs,
                                   train_loss,
                                   val_loss,
                                   quant_lr,
                                   weight_lr,
                                   seconds,
                                   peak_memory_bytes,
                                   elapsed_s)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(
    BlockDone, block, blocks, path, bytes, sha256, seconds, elapsed_s)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Perplexity, corpus, path, nll, ppl, tokens)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Stopped, signal)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Diverged, what)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Failed, error)

inline void to_json(nlohmann::json& out, const Completed&) {
    out = nlohmann::json::object();
}

inline void from_json(const nlohmann::json&, Completed&) {}

namespace {

// Names in the order of the Body alternatives.
constexpr std::array<const char*, std::variant_size_v<Body>> kEventNames = {"started",
                                                                            "resumed",
                                                                            "step",
                                                                            "eval",
                                                                            "checkpoint",
                                                                            "telemetry",
                                                                            "phase",
                                                                            "block_epoch",
                                                                            "block_done",
                                                                            "perplexity",
                                                                            "completed",
                                                                            "stopped",
                                                                            "diverged",
                                                                            "failed"};

template <std::size_t I = 0>
Body body_from_json(std::string_view name, const nlohmann::json& object) {
    if constexpr (I < std::variant_size_v<Body>) {
        if (name == kEventNames[I]) {
            return object.get<std::variant_alternative_t<I, Body>>();
        }
        return body_from_json<I + 1>(name, object);
    } else {
        throw EventFormatError("unknown event '" + std::string(name) + "'");
    }
}

}  // namespace

const char* event_name(const Body& body) {
    return kEventNames[body.index()];
}

bool ends_run(const Body& body) {
    return std::holds_alternative<Completed>(body) || std::holds_alternative<Stopped>(body) ||
           std::holds_alternative<Diverged>(body) || std::holds_alternative<Failed>(body);
}

nlohmann::json to_json(const RunEvent& event) {
    nlohmann::json object =
        std::visit([](const auto& body) { return nlohmann::json(body); }, event.body);
    object["format"] = kFormatVersion;
    object["event"] = event_name(event.body);
    object["step"] = event.step;
    object["time"] = event.time;
    return object;
}

std::string to_json_line(const RunEvent& event) {
    return to_json(event).dump();
}

RunEvent from_json(const nlohmann::json& object) {
    if (!object.is_object()) {
        throw EventFormatError("a run event must be a JSON object");
    }
    try {
        const int version = object.at("format").get<int>();
        if (version > kFormatVersion) {
            throw EventFormatError("event format " + std::to_string(version) +
                                   " is newer than this build reads (" +
                                   std::to_string(kFormatVersion) + ")");
        }
        RunEvent event;
        event.step = object.at("step").get<int64_t>();
        event.time = object.at("time").get<double>();
        // NaN and infinity are not JSON: the writer's nlohmann turns them into null, and null
        // reads back as NaN (a diverged loss stays recognisable).
        nlohmann::json fields = object;
        for (auto& [key, value] : fields.items()) {
            if (value.is_null()) {
                value = std::numeric_limits<double>::quiet_NaN();
            }
        }
        event.body = body_from_json(object.at("event").get<std::string>(), fields);
        return event;
    } catch (const nlohmann::json::exception& error) {
        throw EventFormatError(std::string("malformed run event: ") + error.what());
    }
}

RunEvent from_json_line(const std::string& line) {
    nlohmann::json object = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (object.is_discarded()) {
        throw EventFormatError("not a JSON line: " + line.substr(0, 80));
    }
    return from_json(object);
}

}  // namespace lowbit::events
