// Plain records read from and written to the workspace database (one struct per table row).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::store {

enum class RunStatus { kCreated, kRunning, kCompleted, kStopped, kKilled, kFailed, kDiverged };
const char* to_string(RunStatus status);
RunStatus run_status_from_string(const std::string& text);  // throws std::invalid_argument
// completed, stopped, killed, failed, diverged: the run has ended (runs.ended_at is set).
bool is_terminal(RunStatus status);

struct RunRecord {
    int64_t id = 0;
    std::string name;
    std::string kind;  // "train", "qat", "eval", "import"
    RunStatus status = RunStatus::kCreated;
    std::string recipe_json;
    std::optional<int64_t> parent_run_id;
    std::optional<int64_t> fork_step;
    std::string tags;  // comma separated
    std::string notes;
    std::string group_name;  // sweeps put their runs in one group
    double created_at = 0;   // unix seconds
    std::optional<double> started_at;
    std::optional<double> ended_at;
    std::string host;
    std::string build_info_json;
    // Facts a run's scalars cannot give: parameter count, state bytes, peak memory, entropy
    // floor... Final and best metrics come from the scalars (run_results.h).
    std::string summary_json;
    // Liveness (docs/workspace-schema.md): the engine process that owns the run and its last
    // write, unix seconds. Empty for runs recorded before schema version 2 or never started.
    std::optional<int64_t> pid;
    std::optional<double> heartbeat_at;
};

struct ScalarPoint {
    int64_t row_id = 0;  // monotonically increasing: "scalars since row id" is how the GUI follows
    int64_t run_id = 0;
    std::string key;  // "train/loss", "val/loss", "lr", "grad_norm", ...
    int64_t step = 0;
    int64_t tokens = 0;
    double wall_time = 0;  // seconds since the run started
    double value = 0;
};

// Per-key digest of a run's scalars (RunReader::scalar_summaries): the value at the last step
// and the smallest value. NaN values (stored as NULL) are skipped by the minimum.
struct ScalarSummary {
    std::string key;
    int64_t count = 0;
    int64_t last_step = 0;
    double last_value = 0;
    std::optional<int64_t> min_step;  // empty when every value is NaN
    double min_value = 0;
};

// One histogram of one tensor at one telemetry step: only its bins (the tensor's statistics are
// its TensorStatsRecord). Schemes (docs/workspace-schema.md, "Telemetry"): "uniform" over the
// tensor's finite [min, max] in value units; "grid" over [qn - 0.5, qp + 0.5] in code units, bin
// k being code qn + k; "log2" over [lo, hi) in exponent units, bin k holding
// 2^(lo+k) <= |x| < 2^(lo+k+1), zeros in the statistics' zero_count only.
struct HistogramRecord {
    int64_t row_id = 0;
    int64_t run_id = 0;
    int64_t step = 0;
    std::string layer;        // "blocks.3.attn.qkv"
    std::string tensor_kind;  // "weight", "activation", "grad_output", "optim_m", "optim_v"
    std::string bin_scheme;   // "uniform", "grid", "log2"
    double bin_lo = 0;
    double bin_hi = 0;
    std::vector<int64_t> counts;
    // Finite non-zero values outside [bin_lo, bin_hi) that no bin holds (log2 only; else 0).
    int64_t below = 0, above = 0;
};

// The statistics of one tensor at one telemetry step, one row per (run, step, layer, kind).
// Quantizer fields are empty (and metrics NaN) when the tensor stayed in full precision.
struct TensorStatsRecord {
    int64_t row_id = 0;
    int64_t run_id = 0;
    int64_t step = 0;
    std::string layer;
    std::string tensor_kind;
    // The quantizer applied: JSON with the recipe's names, e.g. {"bits":8,"granularity":
    // "per_token","group_size":128,"symmetric":true,"grid":"reference","rounding":"nearest",
    // "min_range":1e-05}; nullopt when not quantized; "{}" when recorded before schema 3.
    std::optional<std::string> quantizer;
    std::optional<int64_t> qn, qp;  // its code range
    int64_t n = 0;                  // every value, NaN and Inf included
    double min = 0, max = 0;        // finite range
    double sum = 0, sumsq = 0;      // over finite values
    int64_t nan_count = 0, inf_count = 0, zero_count = 0;
    int64_t clipped_low = 0, clipped_high = 0;  // values the grid clamped (quantized only)
    double sqnr_db = 0, mse = 0, clip_fraction = 0, underflow_fraction = 0;
    double scale_min = 0, scale_max = 0;  // range of the per-group scales s
    double absmax_over_sigma = 0, kurtosis = 0;
};

struct EventRecord {
    int64_t row_id = 0;
    int64_t run_id = 0;
    int64_t step = 0;
    double wall_time = 0;  // unix seconds
    std::string kind;      // "started", "checkpoint", "eval", "stopped", "failed", "diverged", ...
    std::string text;
};

// One Block-AP epoch of one block of an EfficientQAT run (docs/workspace-schema.md, "Block-AP").
struct BlockApRecord {
    int64_t row_id = 0;
    int64_t run_id = 0;
    int64_t step = 0;   // the run's step counter after the epoch
    int64_t block = 0;  // 0-based
    int epoch = 0;      // 1-based
    double train_loss = 0;
    double val_loss = 0;
    double quant_lr = 0;
    double weight_lr = 0;
    double seconds = 0;
    int64_t peak_memory_bytes = 0;
    double wall_time = 0;  // seconds since the run first started
};

struct FileRecord {  // a checkpoint or an artifact (export)
    int64_t id = 0;
    int64_t run_id = 0;
    int64_t step = 0;  // checkpoints: the step they were taken after; artifacts: 0 if n/a
    // checkpoints: "checkpoint", or for an EfficientQAT run "block" (a finished block) and
    // "packed_model"; artifacts: "hf-export", "eval-report", ...
    std::string kind;
    std::string path;  // relative to the workspace root
    int64_t bytes = 0;
    std::string sha256;  // hex; for a checkpoint directory: of its manifest (see core/train)
    double created_at = 0;
};

}  // namespace lowbit::store
