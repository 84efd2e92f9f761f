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
    std::string sha256;  // of the checkpoint's manifest (of the file, for a packed model)
    // "checkpoint" (a training checkpoint folder) or "packed_model" (the safetensors file an
    // EfficientQAT run ends with, docs/efficientqat.md §Packed model file).
    std::string kind = "checkpoint";
};

// Histogram and statistics rows of `tensors` quantized tensors were recorded for this step.
struct Telemetry {
    int64_t tensors = 0;
};

// EfficientQAT (docs/efficientqat.md §Run record): a phase of a `lowbit qat` run begins:
// "block_ap" (also for the rtn and gptq methods, which go block by block without training),
// "e2e_qp" or "eval". `step` is the run's step counter (Block-AP steps, then E2E-QP steps).
struct Phase {
    std::string name;
    int64_t blocks = 0;  // transformer blocks of the model
    int64_t steps = 0;   // optimizer steps this phase will take (0: none)
    double elapsed_s = 0;
};

// One Block-AP epoch of one block: a row of the workspace's block_ap table.
struct BlockEpoch {
    int64_t block = 0;  // 0-based
    int64_t blocks = 0;
    int epoch = 0;  // 1-based
    int epochs = 0;
    double train_loss = 0;  // mean reconstruction MSE over the epoch's batches
    double val_loss = 0;    // reconstruction MSE on the validation windows after the epoch
    double quant_lr = 0;    // at the epoch's last step
    double weight_lr = 0;
    double seconds = 0;
    int64_t peak_memory_bytes = 0;
    double elapsed_s = 0;
};

// A block is finished and its packed weights are in a file (relative to the workspace root): a
// resumed run installs it and never trains it again.
struct BlockDone {
    int64_t block = 0;
    int64_t blocks = 0;
    std::string path;
    int64_t bytes = 0;
    std::string sha256;  // of the file
    double seconds = 0;  // the block's time, epochs and packing
    double elapsed_s = 0;
};

// Perplexity of the finished model on one corpus (non-overlapping windows of the model's
// context); `corpus` is the key stem: eval/<corpus>/ppl and eval/<corpus>/nll.
struct Perplexity {
    std::string corpus;
    std::string path;  // the file scored
    double nll = 0;    // nats per scored token
    double ppl = 0;
    int64_t tokens = 0;  // scored tokens
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
                          Phase,
                          BlockEpoch,
                          BlockDone,
                          Perplexity,
                          Completed,
                          Stopped,
                          Diverged,
                          Failed>;

struct RunEvent {
    int64_t step = 0;  // optimizer steps completed when the event happened
    double time = 0;   // unix seconds
    Body body;
};

// "started", ..., "block_done", "perplexity", "completed", "stopped", "diverged", "failed": the
// `event` field of a JSON line and the `kind` of a stored event row (docs/progress-events.md).
const char* event_name(const Body& body);

// Completed, Stopped, Diverged, Failed.
bool ends_run(const Body& body);

// One line for people (log lines, the stored event's text): "device cpu, 1234 parameters",
// "val/loss 2.3456", "stopped by signal 15", ... Step and Telemetry events describe their numbers.
std::string describe(const RunEvent& event);

}  // namespace lowbit::events
