// When and what to record, from a recipe's telemetry: section: logging steps (every N and the
// listed extra steps), the tensor kinds, and the histogram settings of the statistics pass.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/kernels/quant_stats.h"
#include "lowbit/telemetry/tensor_kind.h"

#include <cstdint>

namespace lowbit::telemetry {

class TelemetrySchedule {
public:
    explicit TelemetrySchedule(config::TelemetrySpec spec);

    /// True on a logging step; `step` is 1-based, counted after the optimizer step (as the
    /// trainer's `done`).
    bool due(std::int64_t step) const;
    /// True when telemetry.kinds asks for this kind (an empty list asks for all).
    bool records(TensorKind kind) const;
    /// The statistics pass settings: telemetry.bins uniform bins, default log2 range.
    kernels::QuantStatsSpec stats_spec() const;

private:
    config::TelemetrySpec spec_;
};

}  // namespace lowbit::telemetry
