#include "controllers/workspace_worker.h"

#include "lowbit/store/open_for_reading.h"
#include "lowbit/store/run_annotations.h"
#include "lowbit/store/run_liveness.h"

#include <algorithm>
#include <exception>

namespace lowbit::ui {

WorkspaceWorker::WorkspaceWorker(QString workspace_root, QObject* parent)
    : QObject(parent), root_(std::move(workspace_root)) {
    qRegisterMetaType<std::vector<lowbit::ui::RunRow>>();
    qRegisterMetaType<std::vector<lowbit::ui::ChartData>>();
    qRegisterMetaType<lowbit::ui::SeriesOptions>();
    qRegisterMetaType<lowbit::ui::SentinelRules>();
    qRegisterMetaType<std::vector<lowbit::store::AlertRecord>>();
}

WorkspaceWorker::~WorkspaceWorker() = default;

void WorkspaceWorker::open(int interval_ms) {
    try {
        workspace_ =
            std::make_unique<store::Workspace>(store::open_for_reading(root_.toStdString()));
        reader_ = std::make_unique<store::RunReader>(*workspace_);
    } catch (const std::exception& error) {
        Q_EMIT failed(QString::fromStdString(error.what()));
        return;
    }
    Q_EMIT opened(root_);
    if (interval_ms > 0) {
        timer_ = new QTimer(this);
        connect(timer_, &QTimer::timeout, this, &WorkspaceWorker::poll);
        timer_->start(interval_ms);
    }
    poll();
}

void WorkspaceWorker::poll() {
    if (!reader_) {
        return;
    }
    try {
        // The charts first: their new rows are what a person watches arrive.
        std::set<std::string> changed;
        readSeries(changed);
        // A chart also draws its secondary key: new rows of that key redraw it too.
        for (const auto& [key, extras] : options_.charts) {
            const bool drawn = std::any_of(visible_.begin(), visible_.end(), [&](int64_t id) {
                return builder_.points(id, key) > 0;
            });
            if (drawn && changed.count(extras.secondary_key)) {
                changed.insert(key);
            }
        }
        if (rebuild_all_) {
            for (const auto& key : builder_.keys(visible_)) {
                changed.insert(key);
            }
            rebuild_all_ = false;
        }
        if (!changed.empty()) {
            std::vector<ChartData> charts;
            for (const auto& key : changed) {
                charts.push_back(builder_.build(key, visible_, requestFor(key)));
            }
            Q_EMIT chartsRead(charts);
        }
        rows_ = read_run_rows(*reader_, store::LivenessCheck::here(), rows_, kResultsRefreshS);
        Q_EMIT runsRead(rows_);
        followLineage();
        watchForDivergence();
        last_error_.clear();
    } catch (const std::exception& error) {
        // A busy or briefly locked database: report once, retry on the next poll.
        const QString message = QString::fromStdString(error.what());
        if (message != last_error_) {
            last_error_ = message;
            Q_EMIT failed(message);
        }
    }
}

void WorkspaceWorker::readSeries(std::set<std::string>& changed_keys) {
    for (int64_t run_id : ancestors_) {
        if (std::binary_search(visible_.begin(), visible_.end(), run_id)) {
            continue;
        }
        auto points = reader_->scalars(run_id, {}, scalar_row_id_[run_id]);
        if (!points.empty()) {
            scalar_row_id_[run_id] = points.back().row_id;
            for (const auto& p : points) {
                changed_keys.insert(p.key);
            }
            builder_.add_scalars(points);
        }
    }
    for (int64_t run_id : visible_) {
        auto points = reader_->scalars(run_id, {}, scalar_row_id_[run_id]);
        if (!points.empty()) {
            scalar_row_id_[run_id] = points.back().row_id;
            for (const auto& p : points) {
                changed_keys.insert(p.key);
            }
            builder_.add_scalars(points);
        }
        auto events = reader_->events(run_id, event_row_id_[run_id]);
        if (!events.empty()) {
            event_row_id_[run_id] = events.back().row_id;
            builder_.add_events(events);
            rebuild_all_ = true;  // markers appear on every chart
        }
        // The sentinel's alerts are drawn as events of kind "alert".
        auto alerts = store::run_alerts(*workspace_, run_id, alert_row_id_[run_id]);
        if (!alerts.empty()) {
            alert_row_id_[run_id] = alerts.back().row_id;
            std::vector<store::EventRecord> marks;
            for (const auto& alert : alerts) {
                store::EventRecord mark;
                mark.row_id = alert.row_id;
                mark.run_id = alert.run_id;
                mark.step = alert.step;
                mark.wall_time = alert.created_at;
                mark.kind = "alert";
                mark.text = alert.message;
                marks.push_back(std::move(mark));
            }
            builder_.add_events(marks);
            rebuild_all_ = true;
        }
    }
}

void WorkspaceWorker::followLineage() {
    std::map<int64_t, ChartSeriesBuilder::ForkLink> links;
    for (const RunRow& row : rows_) {
        if (row.record.parent_run_id) {
            links[row.record.id] = {*row.record.parent_run_id, row.record.fork_step.value_or(0)};
        }
    }
    // Every ancestor of a visible fork that is not visible itself.
    std::set<int64_t> wanted;
    for (int64_t run_id : visible_) {
        int depth = 0;  // a chain of forks is short; a cycle cannot be stored, but stop
        for (auto link = links.find(run_id); link != links.end() && depth++ < 16;
             link = links.find(link->second.parent)) {
            if (!std::binary_search(visible_.begin(), visible_.end(), link->second.parent)) {
                wanted.insert(link->second.parent);
            }
        }
    }
    std::vector<int64_t> ancestors(wanted.begin(), wanted.end());
    if (ancestors != ancestors_) {
        for (int64_t old : ancestors_) {
            if (!wanted.contains(old) &&
                !std::binary_search(visible_.begin(), visible_.end(), old)) {
                builder_.forget_run(old);
                scalar_row_id_.erase(old);
            }
        }
        ancestors_ = std::move(ancestors);
        rebuild_all_ = true;  // the next poll reads them and redraws the forks' curves
    }
    builder_.set_lineage(std::move(links));
}

void WorkspaceWorker::watchForDivergence() {
    if (!stored_alerts_read_) {
        std::vector<store::AlertRecord> stored;
        for (const RunRow& row : rows_) {
            auto alerts = store::run_alerts(*workspace_, row.record.id);
            stored.insert(stored.end(), alerts.begin(), alerts.end());
        }
        std::sort(stored.begin(), stored.end(), [](const auto& a, const auto& b) {
            return a.row_id < b.row_id;
        });
        stored_alerts_read_ = true;
        if (!stored.empty()) {
            Q_EMIT alertsRead(stored, false);
        }
    }
    auto raised = sentinel_.poll(*workspace_, *reader_, rows_);
    if (!raised.empty()) {
        Q_EMIT alertsRead(raised, true);
    }
}

ChartRequest WorkspaceWorker::requestFor(const std::string& key) const {
    const auto found = views_.find(key);
    ChartRequest request = found == views_.end() ? ChartRequest{} : found->second;
    request.x_axis = x_axis_;
    request.smoothing = smoothing_;
    const auto extras = options_.charts.find(key);
    request.extras = extras == options_.charts.end() ? ChartSeriesExtras{} : extras->second;
    request.baseline_run = options_.baseline_run;
    return request;
}

void WorkspaceWorker::setVisibleRuns(const QVector<qint64>& run_ids) {
    std::vector<int64_t> ids(run_ids.begin(), run_ids.end());
    std::sort(ids.begin(), ids.end());
    for (int64_t old : visible_) {
        if (!std::binary_search(ids.begin(), ids.end(), old)) {
            // Dropped from memory; shown again later, it is read again from row 0.
            builder_.forget_run(old);
            scalar_row_id_.erase(old);
            event_row_id_.erase(old);
            alert_row_id_.erase(old);
        }
    }
    visible_ = std::move(ids);
    rebuild_all_ = true;
    poll();
}

void WorkspaceWorker::setDisplay(int x_axis, double smoothing) {
    x_axis_ = static_cast<XAxisKind>(std::clamp(x_axis, 0, 2));
    smoothing_ = std::clamp(smoothing, 0.0, 0.999);
    views_.clear();  // ranges are in the old x units
    rebuild_all_ = true;
    poll();
}

void WorkspaceWorker::setSeriesOptions(const SeriesOptions& options) {
    if (options == options_) {
        return;
    }
    options_ = options;
    rebuild_all_ = true;
    poll();
}

void WorkspaceWorker::setChartView(
    const QString& key, bool has_range, double lo, double hi, int columns) {
    ChartRequest& request = views_[key.toStdString()];
    request.pixel_columns = std::max(columns, 16);
    if (has_range) {
        request.x_range = std::make_pair(lo, hi);
    } else {
        request.x_range.reset();
    }
    if (reader_) {
        Q_EMIT chartsRead(
            {builder_.build(key.toStdString(), visible_, requestFor(key.toStdString()))});
    }
}

void WorkspaceWorker::setSentinelRules(const SentinelRules& rules) {
    sentinel_.set_rules(rules);
}

void WorkspaceWorker::writeAnnotation(qint64 run_id, int field, const QString& text) {
    try {
        store::Workspace writable = store::Workspace::open(root_.toStdString());
        store::set_run_annotation(
            writable, run_id, static_cast<store::RunAnnotation>(field), text.toStdString());
        Q_EMIT annotationWritten(run_id);
    } catch (const std::exception& error) {
        Q_EMIT failed(QString::fromStdString(error.what()));
    }
    poll();
}

}  // namespace lowbit::ui
