#include "health/health_grid.h"

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>

#include "histograms/histogram_math.h"

namespace lowbit::ui {

std::vector<store::TensorStatsRecord> newest_rows(std::vector<store::TensorStatsRecord> rows) {
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
        return std::tie(a.step, a.layer, a.tensor_kind, a.row_id) <
               std::tie(b.step, b.layer, b.tensor_kind, b.row_id);
    });
    std::vector<store::TensorStatsRecord> kept;
    kept.reserve(rows.size());
    for (auto& row : rows) {
        if (!kept.empty() && kept.back().step == row.step && kept.back().layer == row.layer &&
            kept.back().tensor_kind == row.tensor_kind) {
            kept.back() = std::move(row);  // the larger row id, sorted last
        } else {
            kept.push_back(std::move(row));
        }
    }
    return kept;
}

HealthGrid build_health_grid(const std::vector<store::TensorStatsRecord>& rows,
                             const std::string& kind,
                             HealthMetric metric) {
    HealthGrid grid;
    grid.metric = metric;
    grid.kind = kind;
    std::vector<store::TensorStatsRecord> of_kind;
    for (const auto& row : rows) {
        if (row.tensor_kind == kind) {
            of_kind.push_back(row);
        }
    }
    of_kind = newest_rows(std::move(of_kind));
    for (const auto& row : of_kind) {
        grid.layers.push_back(row.layer);
        grid.steps.push_back(row.step);
    }
    std::sort(grid.layers.begin(), grid.layers.end(), natural_less);
    grid.layers.erase(std::unique(grid.layers.begin(), grid.layers.end()), grid.layers.end());
    std::sort(grid.steps.begin(), grid.steps.end());
    grid.steps.erase(std::unique(grid.steps.begin(), grid.steps.end()), grid.steps.end());
    std::map<std::string, size_t> layer_index;
    for (size_t i = 0; i < grid.layers.size(); ++i) {
        layer_index[grid.layers[i]] = i;
    }
    grid.values.assign(
        grid.layers.size(),
        std::vector<double>(grid.steps.size(), std::numeric_limits<double>::quiet_NaN()));
    for (const auto& row : of_kind) {
        const auto step = static_cast<size_t>(
            std::lower_bound(grid.steps.begin(), grid.steps.end(), row.step) - grid.steps.begin());
        grid.values[layer_index.at(row.layer)][step] = health_metric_value(row, metric);
    }
    return grid;
}

}  // namespace lowbit::ui
