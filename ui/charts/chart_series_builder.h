// ChartSeriesBuilder: the full-resolution scalar series and events of the runs on the charts, and
// what one chart draws from them (smoothed and decimated QCPGraphDataContainers, non-finite and
// event markers, the range readout, the series of a secondary key and the derived series). Plain
// class, no QObject: the workspace worker owns one in its thread and hands the finished ChartData
// to the GUI thread; `--snapshot` uses it directly.
#pragma once

#include "lowbit/store/records.h"

#include <QMetaType>
#include <QSharedPointer>
#include <QString>
#include <QVector>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "charts/derived_series.h"
#include "charts/qcustomplot_include.h"

namespace lowbit::ui {

enum class XAxisKind { kStep = 0, kTokens = 1, kWallTime = 2 };

QString x_axis_label(XAxisKind kind);

// What a chart draws besides its own key: a second key on the right axis and derived series
// (docs/studio.md §Secondary axes and stacked charts, §Derived series).
struct ChartSeriesExtras {
    std::string secondary_key;  // empty: none
    std::vector<DerivedSpec> derived;

    bool operator==(const ChartSeriesExtras&) const = default;
};

// The extras of every chart by key, and the baseline run of the differences and ratios.
struct SeriesOptions {
    std::map<std::string, ChartSeriesExtras> charts;
    std::optional<int64_t> baseline_run;

    bool operator==(const SeriesOptions&) const = default;
};

struct ScalarSample {
    int64_t step = 0;
    int64_t tokens = 0;
    double wall_time = 0;  // seconds since the run's first start
    double value = 0;      // NaN for a non-finite value (stored as NULL)
};

// What a chart asks for: the x quantity, the smoothing weight, the visible x range (empty: the
// whole series) and the plot's width in pixels (the decimation's column count).
struct ChartRequest {
    XAxisKind x_axis = XAxisKind::kStep;
    double smoothing = 0.6;
    std::optional<std::pair<double, double>> x_range;
    int pixel_columns = 800;
    ChartSeriesExtras extras;
    std::optional<int64_t> baseline_run;
};

// The range readout of one run on one chart, over the full-resolution points in the x range.
struct RangeStats {
    int count = 0;  // finite points
    double last = 0;
    double last_smoothed = 0;
    double min = 0;
    double max = 0;
    double mean = 0;
    double delta = 0;  // last - first
};

struct EventMark {
    double x = 0;
    QString kind;  // "checkpoint", "eval", "resumed", "diverged", "stopped", "started" (a fork's)
    QString text;
};

struct RunChartData {
    int64_t run_id = 0;
    QSharedPointer<QCPGraphDataContainer> raw;
    QSharedPointer<QCPGraphDataContainer> smoothed;
    QVector<double> non_finite_x;  // x of every NaN/Inf point in the range
    QVector<EventMark> events;
    RangeStats stats;
    size_t full_points = 0;  // points of the whole series (before range and decimation)
};

// One derived series of one run, decimated like the raw line.
struct DerivedCurve {
    int64_t run_id = 0;
    DerivedSpec spec;
    QSharedPointer<QCPGraphDataContainer> points;
};

struct ChartData {
    QString key;
    XAxisKind x_axis = XAxisKind::kStep;
    std::vector<RunChartData> runs;
    QString secondary_key;                // empty: no right axis
    std::vector<RunChartData> secondary;  // the runs' series of secondary_key
    std::vector<DerivedCurve> derived;
};

class ChartSeriesBuilder {
public:
    // Rows from RunReader::scalars(run, "", since). A row at a step not after the series' last
    // step means the run was resumed and recomputes from there: later points are replaced.
    void add_scalars(const std::vector<store::ScalarPoint>& points);
    void add_events(const std::vector<store::EventRecord>& events);
    void forget_run(int64_t run_id);

    // Keys of the given runs, sorted.
    std::vector<std::string> keys(const std::vector<int64_t>& run_ids) const;
    size_t points(int64_t run_id, const std::string& key) const;

    // Forks (docs/studio.md §Forking a run): run -> (parent, fork step). A fork's curves begin with
    // its parent's points up to the fork step, when the parent's series is loaded (add_scalars).
    struct ForkLink {
        int64_t parent = 0;
        int64_t step = 0;
    };

    void set_lineage(std::map<int64_t, ForkLink> links);
    // The full-resolution series of one run's key, resumes applied (null when there is none).
    const std::vector<ScalarSample>* samples(int64_t run_id, const std::string& key) const;

    ChartData build(const std::string& key,
                    const std::vector<int64_t>& run_ids,
                    const ChartRequest& request) const;

private:
    SeriesPoints points_of(int64_t run_id, const std::string& key, XAxisKind x_axis) const;

    std::map<std::pair<int64_t, std::string>, std::vector<ScalarSample>> series_;
    std::map<int64_t, std::vector<store::EventRecord>> events_;
    std::map<int64_t, ForkLink> lineage_;

    // The parent chain's points of `key` before `run_id`'s own (empty for a run that is no fork).
    std::vector<ScalarSample> inherited(int64_t run_id,
                                        const std::string& key,
                                        int depth = 0) const;
};

}  // namespace lowbit::ui

Q_DECLARE_METATYPE(lowbit::ui::ChartData)
Q_DECLARE_METATYPE(std::vector<lowbit::ui::ChartData>)
Q_DECLARE_METATYPE(lowbit::ui::SeriesOptions)
