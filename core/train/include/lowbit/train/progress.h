// Progress reporting of a run: a progress bar with ETA and tokens/s on a terminal, JSON lines on
// stdout for the GUI (`--progress jsonl`: one object per step and one per event), plain log lines
// when output is not a terminal, or nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace lowbit::train {

enum class ProgressMode { kAuto, kBar, kJsonl, kNone };
ProgressMode progress_mode_from_string(const std::string& text);  // throws std::invalid_argument

struct StepProgress {
    int64_t step = 0;  // optimizer steps completed
    int64_t steps = 0;
    double loss = 0;
    double lr = 0;
    double grad_norm = 0;
    double tokens_per_s = 0;
    double eta_s = 0;
    int64_t tokens = 0;
};

class ProgressSink {
public:
    virtual ~ProgressSink() = default;
    virtual void on_step(const StepProgress& progress) = 0;
    // kind: "started", "eval", "checkpoint", "stopped", "completed", "failed", "diverged", ...
    virtual void on_event(const std::string& kind, int64_t step, const nlohmann::json& fields) = 0;
};

std::unique_ptr<ProgressSink> make_progress_sink(ProgressMode mode);

}  // namespace lowbit::train
