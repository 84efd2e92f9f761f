// TelemetrySchedule: logging steps and kinds from the recipe's telemetry: section.
#include "lowbit/telemetry/telemetry_schedule.h"

#include <algorithm>
#include <utility>

namespace lowbit::telemetry {

TelemetrySchedule::TelemetrySchedule(config::TelemetrySpec spec) : spec_(std::move(spec)) {}

bool TelemetrySchedule::due(std::int64_t step) const {
    if (spec_.every > 0 && step > 0 && step % spec_.every == 0) {
        return true;
    }
    return std::find(spec_.steps.begin(), spec_.steps.end(), step) != spec_.steps.end();
}

bool TelemetrySchedule::records(TensorKind kind) const {
    return spec_.kinds.empty() ||
           std::find(spec_.kinds.begin(), spec_.kinds.end(), to_string(kind)) != spec_.kinds.end();
}

kernels::QuantStatsSpec TelemetrySchedule::stats_spec() const {
    kernels::QuantStatsSpec spec;
    spec.uniform_bins = spec_.bins;
    return spec;
}

}  // namespace lowbit::telemetry
