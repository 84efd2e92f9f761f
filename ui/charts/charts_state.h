// ChartsState: everything a person sets on the chart area, as one value: the arrangement (grid or
// stacked), the x axis, the smoothing weight, the log axes, the charts removed, each chart's
// secondary key, right-axis log scale, derived series and zoomed ranges, and the baseline run.
// The workspace layout saves it and the undo stack keeps copies of it (docs/studio.md §Layouts
// and undo); ChartsView shows it.
#pragma once

#include <QString>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "charts/chart_series_builder.h"
#include "charts/derived_series.h"

namespace lowbit::ui {

enum class ChartsMode { kGrid = 0, kStacked = 1 };

using AxisRange = std::pair<double, double>;

struct ChartState {
    QString secondary_key;  // empty: no right axis
    bool log_y2 = false;
    std::vector<DerivedSpec> derived;
    // Set while the chart is zoomed or panned; absent: the whole series.
    std::optional<AxisRange> x_range;
    std::optional<AxisRange> y_range;

    bool isDefault() const {
        return *this == ChartState{};
    }

    bool operator==(const ChartState&) const = default;
};

struct ChartsState {
    static constexpr double kDefaultSmoothing = 0.6;

    ChartsMode mode = ChartsMode::kGrid;
    XAxisKind x_axis = XAxisKind::kStep;
    double smoothing = kDefaultSmoothing;
    bool log_x = false;
    bool log_y = false;
    std::set<QString> removed_keys;
    std::map<QString, ChartState> charts;  // only charts whose state is not the default
    std::optional<int64_t> baseline_run;

    bool operator==(const ChartsState&) const = default;
};

}  // namespace lowbit::ui
