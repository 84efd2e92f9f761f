// The layer × step matrix of one metric for one run and tensor kind, built from the run's
// statistics rows without widgets, so the tests can check its cells against the database
// (docs/studio.md §Quantization health).
#pragma once

#include "lowbit/store/records.h"

#include <cstdint>
#include <string>
#include <vector>

#include "health/health_metrics.h"

namespace lowbit::ui {

struct HealthGrid {
    HealthMetric metric = HealthMetric::kSqnr;
    std::string kind;
    std::vector<std::string> layers;  // model order (natural_less): blocks.0..., lm_head
    std::vector<int64_t> steps;       // ascending
    // values[layer][step index]; NaN where the layer recorded nothing at that step or the
    // metric is undefined there.
    std::vector<std::vector<double>> values;

    bool empty() const {
        return layers.empty() || steps.empty();
    }

    double at(size_t layer, size_t step) const {
        return values[layer][step];
    }
};

// Rows of other kinds are skipped. A step recorded twice (a resumed run records the steps after
// its checkpoint again) counts with its newer row.
HealthGrid build_health_grid(const std::vector<store::TensorStatsRecord>& rows,
                             const std::string& kind,
                             HealthMetric metric);

// Each (step, layer, kind)'s newest row, the rest dropped: what every view of a run's
// statistics uses.
std::vector<store::TensorStatsRecord> newest_rows(std::vector<store::TensorStatsRecord> rows);

}  // namespace lowbit::ui
