#include "charts/chart_series_builder.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "charts/decimation.h"
#include "charts/ema_smoothing.h"

namespace lowbit::ui {

QString x_axis_label(XAxisKind kind) {
    switch (kind) {
        case XAxisKind::kStep:
            return QStringLiteral("step");
        case XAxisKind::kTokens:
            return QStringLiteral("tokens");
        case XAxisKind::kWallTime:
            return QStringLiteral("wall time (s)");
    }
    return {};
}

namespace {

double x_of(const ScalarSample& sample, XAxisKind kind) {
    switch (kind) {
        case XAxisKind::kStep:
            return static_cast<double>(sample.step);
        case XAxisKind::kTokens:
            return static_cast<double>(sample.tokens);
        case XAxisKind::kWallTime:
            return sample.wall_time;
    }
    return 0;
}

// The events a chart marks (docs/progress-events.md, event kinds). A run starts at step 0 unless it
// is a fork: its start marks the fork point.
bool marked_event(const std::string& kind, int64_t step) {
    return (kind == "started" && step > 0) || kind == "checkpoint" || kind == "eval" ||
           kind == "resumed" || kind == "diverged" || kind == "stopped" || kind == "killed" ||
           kind == "failed" || kind == "alert";
}

QSharedPointer<QCPGraphDataContainer> container_of(const std::vector<double>& x,
                                                   const std::vector<double>& y,
                                                   const std::vector<size_t>& indices) {
    auto container = QSharedPointer<QCPGraphDataContainer>::create();
    QVector<QCPGraphData> data;
    data.reserve(static_cast<qsizetype>(indices.size()));
    for (size_t i : indices) {
        data.push_back(QCPGraphData(x[i], y[i]));
    }
    container->set(data, true);
    return container;
}

}  // namespace

void ChartSeriesBuilder::add_scalars(const std::vector<store::ScalarPoint>& points) {
    for (const auto& p : points) {
        auto& samples = series_[{p.run_id, p.key}];
        if (!samples.empty() && p.step <= samples.back().step) {
            const auto from = std::lower_bound(
                samples.begin(), samples.end(), p.step, [](const ScalarSample& s, int64_t step) {
                    return s.step < step;
                });
            samples.erase(from, samples.end());
        }
        samples.push_back({p.step, p.tokens, p.wall_time, p.value});
    }
}

void ChartSeriesBuilder::add_events(const std::vector<store::EventRecord>& events) {
    for (const auto& e : events) {
        if (marked_event(e.kind, e.step)) {
            auto& list = events_[e.run_id];
            if (e.kind == "resumed") {  // a resumed run recomputes the rows after its checkpoint
                std::erase_if(list,
                              [&](const store::EventRecord& old) { return old.step > e.step; });
            }
            list.push_back(e);
        }
    }
}

void ChartSeriesBuilder::forget_run(int64_t run_id) {
    std::erase_if(series_, [run_id](const auto& entry) { return entry.first.first == run_id; });
    events_.erase(run_id);
}

std::vector<std::string> ChartSeriesBuilder::keys(const std::vector<int64_t>& run_ids) const {
    std::set<std::string> keys;
    for (const auto& [id, samples] : series_) {
        if (std::find(run_ids.begin(), run_ids.end(), id.first) != run_ids.end()) {
            keys.insert(id.second);
        }
    }
    return {keys.begin(), keys.end()};
}

size_t ChartSeriesBuilder::points(int64_t run_id, const std::string& key) const {
    const auto found = series_.find({run_id, key});
    return found == series_.end() ? 0 : found->second.size();
}

void ChartSeriesBuilder::set_lineage(std::map<int64_t, ForkLink> links) {
    lineage_ = std::move(links);
}

std::vector<ScalarSample> ChartSeriesBuilder::inherited(int64_t run_id,
                                                        const std::string& key,
                                                        int depth) const {
    const auto link = lineage_.find(run_id);
    constexpr int kMaxDepth = 16;  // a fork of a fork of ...; a cycle cannot be stored, but stop
    if (link == lineage_.end() || depth > kMaxDepth) {
        return {};
    }
    std::vector<ScalarSample> points = inherited(link->second.parent, key, depth + 1);
    if (const auto parent = series_.find({link->second.parent, key}); parent != series_.end()) {
        // The parent's own points start after its own inherited ones.
        const int64_t from = parent->second.empty() ? 0 : parent->second.front().step;
        std::erase_if(points, [from](const ScalarSample& s) { return s.step >= from; });
        points.insert(points.end(), parent->second.begin(), parent->second.end());
    }
    std::erase_if(points, [&](const ScalarSample& s) { return s.step > link->second.step; });
    return points;
}

const std::vector<ScalarSample>* ChartSeriesBuilder::samples(int64_t run_id,
                                                             const std::string& key) const {
    const auto found = series_.find({run_id, key});
    return found == series_.end() ? nullptr : &found->second;
}

SeriesPoints ChartSeriesBuilder::points_of(int64_t run_id,
                                           const std::string& key,
                                           XAxisKind x_axis) const {
    SeriesPoints points;
    const std::vector<ScalarSample>* series = samples(run_id, key);
    if (!series) {
        return points;
    }
    for (const ScalarSample& sample : *series) {
        points.steps.push_back(sample.step);
        points.x.push_back(x_of(sample, x_axis));
        points.y.push_back(sample.value);
    }
    return points;
}

ChartData ChartSeriesBuilder::build(const std::string& key,
                                    const std::vector<int64_t>& run_ids,
                                    const ChartRequest& request) const {
    ChartData chart;
    chart.key = QString::fromStdString(key);
    chart.x_axis = request.x_axis;
    for (int64_t run_id : run_ids) {
        const auto found = series_.find({run_id, key});
        if (found == series_.end() || found->second.empty()) {
            continue;
        }
        // A fork's own points follow its parent's up to the fork step (its first own point, the
        // evaluation at the fork step, replaces the parent's at that step).
        // Not on the wall-time axis: a fork's clock starts again at zero.
        std::vector<ScalarSample> lineage = request.x_axis == XAxisKind::kWallTime
                                                ? std::vector<ScalarSample>{}
                                                : inherited(run_id, key);
        const int64_t own_from = found->second.front().step;
        std::erase_if(lineage, [own_from](const ScalarSample& s) { return s.step >= own_from; });
        if (!lineage.empty()) {
            lineage.insert(lineage.end(), found->second.begin(), found->second.end());
        }
        const auto& samples = lineage.empty() ? found->second : lineage;
        std::vector<double> x(samples.size());
        std::vector<double> y(samples.size());
        for (size_t i = 0; i < samples.size(); ++i) {
            x[i] = x_of(samples[i], request.x_axis);
            y[i] = samples[i].value;
        }
        const std::vector<double> smooth = smooth_debiased_ema(y, request.smoothing);
        const double lo = request.x_range ? request.x_range->first : x.front();
        const double hi = request.x_range ? request.x_range->second : x.back();

        RunChartData run;
        run.run_id = run_id;
        run.full_points = samples.size();
        run.raw = container_of(x, y, decimate_min_max_last(x, y, lo, hi, request.pixel_columns));
        run.smoothed = container_of(
            x, smooth, decimate_min_max_last(x, smooth, lo, hi, request.pixel_columns));

        double first = std::numeric_limits<double>::quiet_NaN();
        double sum = 0;
        for (size_t i = 0; i < x.size(); ++i) {
            if (x[i] < lo || x[i] > hi) {
                continue;
            }
            if (!std::isfinite(y[i])) {
                run.non_finite_x.push_back(x[i]);
                continue;
            }
            RangeStats& s = run.stats;
            if (s.count == 0) {
                first = y[i];
                s.min = s.max = y[i];
            }
            ++s.count;
            s.min = std::min(s.min, y[i]);
            s.max = std::max(s.max, y[i]);
            s.last = y[i];
            s.last_smoothed = smooth[i];
            sum += y[i];
        }
        if (run.stats.count > 0) {
            run.stats.mean = sum / run.stats.count;
            run.stats.delta = run.stats.last - first;
        }

        // Events sit at the x of the first sample at or after their step.
        const auto events = events_.find(run_id);
        if (events != events_.end()) {
            for (const auto& e : events->second) {
                const auto at = std::lower_bound(
                    samples.begin(),
                    samples.end(),
                    e.step,
                    [](const ScalarSample& s, int64_t step) { return s.step < step; });
                const ScalarSample& sample = at == samples.end() ? samples.back() : *at;
                const double ex = request.x_axis == XAxisKind::kStep ? static_cast<double>(e.step)
                                                                     : x_of(sample, request.x_axis);
                if (ex >= lo && ex <= hi) {
                    run.events.push_back(
                        {ex, QString::fromStdString(e.kind), QString::fromStdString(e.text)});
                }
            }
        }
        chart.runs.push_back(std::move(run));
    }

    const ChartSeriesExtras& extras = request.extras;
    if (!extras.secondary_key.empty() && extras.secondary_key != key) {
        ChartRequest plain = request;
        plain.extras = {};
        chart.secondary_key = QString::fromStdString(extras.secondary_key);
        chart.secondary = build(extras.secondary_key, run_ids, plain).runs;
    }
    if (!extras.derived.empty()) {
        // A difference or a ratio needs the baseline's series, which is held while it is shown.
        const bool has_baseline = request.baseline_run && points(*request.baseline_run, key) > 0;
        const SeriesPoints baseline =
            has_baseline ? points_of(*request.baseline_run, key, request.x_axis) : SeriesPoints{};
        for (const RunChartData& run : chart.runs) {
            const SeriesPoints own = points_of(run.run_id, key, request.x_axis);
            const double lo = request.x_range ? request.x_range->first : own.x.front();
            const double hi = request.x_range ? request.x_range->second : own.x.back();
            for (const DerivedSpec& spec : extras.derived) {
                const bool against_baseline =
                    spec.kind == DerivedKind::kDifference || spec.kind == DerivedKind::kRatio;
                if (against_baseline && (!has_baseline || run.run_id == *request.baseline_run)) {
                    continue;
                }
                const SeriesPoints derived = derive(spec, own, has_baseline ? &baseline : nullptr);
                chart.derived.push_back(
                    {run.run_id,
                     spec,
                     container_of(derived.x,
                                  derived.y,
                                  decimate_min_max_last(
                                      derived.x, derived.y, lo, hi, request.pixel_columns))});
            }
        }
    }
    return chart;
}

}  // namespace lowbit::ui
