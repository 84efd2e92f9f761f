// The typed events of a run, emitted once by the engine and delivered to every subscriber (the
// workspace recorder, the JSON-lines sink on stdout, the terminal bar). Plain structs, no LibTorch
// and no Qt, so the studio decodes the same types it receives. Format: docs/progress-events.md.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

namespace lowbit::events {

// Bumped whenever a field changes meaning or is removed; adding a field keeps the version.
inline constexpr int kFormatVersion = 1;

// A new run began (after its step-0 evaluation is scheduled, before any training step).
struct Started {
    int64_t run_id = 0;
    std::string run_dir;
    std::string device;  // "cpu", "cuda:0"
    int64_t parameters = 0;
    int64_t steps = 0;  // optimizer steps the recipe asks for
    int64_t tokens_per_step = 0;
    std::string init_from;  // the checkpoint folder its weights came from; empty: random init
    // A fork (started at its fork step): the parent run and its checkpoint folder; 0 and "" else.
    int64_t parent_run_id = 0;
    std::string fork_checkpoint;
};

// A stopped or killed run continues from its latest checkpoint (`step` is that checkpoint's).
struct Resumed {
    int64_t run_id = 0;
    std::string run_dir;
    std::string device;
    int64_t parameters = 0;
    int64_t steps = 0;
    int64_t tokens_per_step = 0;
    std::string checkpoint;  // the checkpoint it continues from, relative to the workspace root
};

// One optimizer step done. `logged` marks the steps whose metrics are recorded in the workspace
// (every train.log_every steps and the last); weight_norm is computed on those steps only.
struct Step {
    int64_t steps = 0;
    double loss = 0;  // mean over the micro-batches
    double lr = 0;
    double grad_norm = 0;  // before clipping
    double weight_norm = 0;
    int64_t tokens = 0;  // training tokens consumed so far
    double tokens_per_s = 0;
    double eta_s = 0;
    double elapsed_s = 0;  // seconds since the run first started (resumes included)
    bool logged = false;
};

// Validation loss (nats per token) of the model after `step` steps; perplexity is exp(val_loss).
struct Eval {
    double val_loss = 0;
    int64_t tokens = 0;
    double elapsed_s = 0;
};

// A checkpoint folder was written atomically (path relative to the workspace root).
struct Checkpoint {
    std::string path;
    int64_t bytes = 0;
    std::string sha256;  // of the checkpoint's manifest
};

// Histogram and statistics rows of `tensors` quantized tensors were recorded for this step.
struct Telemetry {
    int64_t tensors = 0;
};

// The end of a run: exactly one of these is the last event of a process.
struct Completed {};

struct Stopped {
    int signal = 0;
};

struct Diverged {
    std::string what;  // "loss" or "gradient norm"
};

struct Failed {
    std::string error;
};

using Body = std::variant<Started,
                          Resumed,
                          Step,
                          Eval,
                          Checkpoint,
                          Telemetry,
                          Completed,
                          Stopped,
                          Diverged,
                          Failed>;

struct RunEvent {
    int64_t step = 0;  // optimizer steps completed when the event happened
    double time = 0;   // unix seconds
    Body body;
};

// "started", "resumed", "step", "eval", "checkpoint", "telemetry", "completed", "stopped",
// "diverged", "failed": the `event` field of a JSON line and the `kind` of a stored event row.
const char* event_name(const Body& body);

// Completed, Stopped, Diverged, Failed.
bool ends_run(const Body& body);

// One line for people (log lines, the stored event's text): "device cpu, 1234 parameters",
// "val/loss 2.3456", "stopped by signal 15", ... Step and Telemetry events describe their numbers.
std::string describe(const RunEvent& event);

}  // namespace lowbit::events
