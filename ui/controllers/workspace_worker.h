// WorkspaceWorker: every read of the workspace database, on its own read-only connection (WAL,
// busy timeout) in a worker thread, so a slow disk or a long engine commit never blocks the GUI.
// It polls: for the runs shown on the charts their scalars and events since the last row id read
// (row ids only grow), which it keeps at full resolution in a ChartSeriesBuilder, and what the
// charts draw leaves it as finished ChartData; then the runs (RunRow, with liveness and results).
// It also writes the tags, notes and group that a person edits (lowbit/store/run_annotations.h),
// and runs the divergence sentinel over the running runs (diagnose/sentinel_watch.h), whose
// alerts it reports and draws as markers.
// Used without a thread by `--snapshot` and the tests (call open() and poll() directly).
#pragma once

#include "lowbit/store/run_alerts.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/workspace.h"

#include <QObject>
#include <QString>
#include <QTimer>
#include <QVector>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "charts/chart_series_builder.h"
#include "diagnose/sentinel_watch.h"
#include "models/run_row.h"

namespace lowbit::ui {

class WorkspaceWorker : public QObject {
    Q_OBJECT

public:
    // A live run's results (last and best val loss, steps, tokens) are derived again at most this
    // often; its curves and status follow every poll.
    static constexpr double kResultsRefreshS = 5.0;

    explicit WorkspaceWorker(QString workspace_root, QObject* parent = nullptr);
    ~WorkspaceWorker() override;

    const ChartSeriesBuilder& series() const {
        return builder_;
    }

public Q_SLOTS:
    // Opens the database read-only and starts polling every `interval_ms` (0: no timer).
    void open(int interval_ms = 500);
    void poll();
    void setVisibleRuns(const QVector<qint64>& run_ids);
    void setDisplay(int x_axis, double smoothing);
    // The visible x range of one chart (has_range false: the whole series) and its pixel width.
    void setChartView(const QString& key, bool has_range, double lo, double hi, int columns);
    // The charts' secondary keys and derived series, and the baseline run.
    void setSeriesOptions(const lowbit::ui::SeriesOptions& options);
    void writeAnnotation(qint64 run_id, int field, const QString& text);
    void setSentinelRules(const lowbit::ui::SentinelRules& rules);

Q_SIGNALS:
    void opened(const QString& root);
    void runsRead(const std::vector<lowbit::ui::RunRow>& rows);
    void chartsRead(const std::vector<lowbit::ui::ChartData>& charts);
    void failed(const QString& message);
    void annotationWritten(qint64 run_id);
    // Alerts of the workspace: once after opening, those stored before (raised_now false); then
    // each alert the sentinel raises (raised_now true).
    void alertsRead(const std::vector<lowbit::store::AlertRecord>& alerts, bool raised_now);

private:
    void readSeries(std::set<std::string>& changed_keys);
    void watchForDivergence();
    // The forks among the visible runs: their ancestors are read and their lineage handed to the
    // series builder.
    void followLineage();
    ChartRequest requestFor(const std::string& key) const;

    QString root_;
    std::unique_ptr<store::Workspace> workspace_;
    std::unique_ptr<store::RunReader> reader_;
    QTimer* timer_ = nullptr;
    std::vector<RunRow> rows_;
    std::vector<int64_t> visible_;
    // Runs read only because a visible fork descends from them (their scalars, no events).
    std::vector<int64_t> ancestors_;
    std::map<int64_t, int64_t> scalar_row_id_;
    std::map<int64_t, int64_t> event_row_id_;
    std::map<int64_t, int64_t> alert_row_id_;
    SentinelWatch sentinel_;
    bool stored_alerts_read_ = false;
    ChartSeriesBuilder builder_;
    XAxisKind x_axis_ = XAxisKind::kStep;
    double smoothing_ = 0.6;
    std::map<std::string, ChartRequest> views_;
    SeriesOptions options_;
    bool rebuild_all_ = true;
    QString last_error_;
};

}  // namespace lowbit::ui

Q_DECLARE_METATYPE(lowbit::ui::SentinelRules)
Q_DECLARE_METATYPE(std::vector<lowbit::store::AlertRecord>)
