// TelemetryWorker: the histogram inspector's reads of the workspace, on a read-only connection of
// its own in a worker thread (or called directly by `--snapshot` and the tests). For the chosen
// run it follows the statistics rows by row id (row ids only grow, docs/workspace-schema.md
// §Tables), which give the layers and kinds that have telemetry (the catalogue), and for the
// chosen (layer, kind) it keeps every step's statistics row and its two histograms; a statistics
// row whose histograms are not committed yet is read again on the next poll. What the inspector
// draws leaves as finished containers (TelemetryCatalogue, TensorSeries).
#pragma once

#include "lowbit/store/records.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/workspace.h"

#include <QMetaType>
#include <QObject>
#include <QString>
#include <QTimer>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lowbit::ui {

// One tensor at one telemetry step: its statistics and its two histograms (`uniform` in value
// units; `fixed` on the grid scheme when quantized, log2 when not).
struct TensorStep {
    store::TensorStatsRecord stats;
    std::optional<store::HistogramRecord> uniform;
    std::optional<store::HistogramRecord> fixed;
};

// Every recorded step of one (run, layer, kind), ascending by step.
struct TensorSeries {
    int64_t run_id = 0;
    std::string layer;
    std::string kind;
    std::vector<TensorStep> steps;
};

// The tensors of one run that have telemetry: layer -> recorded kinds.
struct TelemetryCatalogue {
    int64_t run_id = 0;
    std::map<std::string, std::set<std::string>> tensors;
    int64_t last_step = 0;
};

// Statistics rows of one run as they are read: all of them after a new run is chosen
// (`from_start`), then only those with a larger row id (docs/studio.md §Quantization health).
struct StatisticsRows {
    int64_t run_id = 0;
    bool from_start = false;
    std::vector<store::TensorStatsRecord> rows;
};

class TelemetryWorker : public QObject {
    Q_OBJECT

public:
    explicit TelemetryWorker(QString workspace_root, QObject* parent = nullptr);
    ~TelemetryWorker() override;

    // The first of `run_ids` (newest first) with any telemetry; nullopt when none has.
    std::optional<int64_t> firstRunWithTelemetry(const std::vector<int64_t>& run_ids) const;

public Q_SLOTS:
    // Opens the database read-only and polls every `interval_ms` (0: no timer).
    void open(int interval_ms = 500);
    void poll();
    // The run whose catalogue is followed and the tensor whose series is kept (empty: none).
    void select(qint64 run_id, const QString& layer, const QString& kind);

Q_SIGNALS:
    void catalogueRead(const lowbit::ui::TelemetryCatalogue& catalogue);
    void seriesRead(const lowbit::ui::TensorSeries& series);
    void statisticsRead(const lowbit::ui::StatisticsRows& rows);
    void failed(const QString& message);

private:
    bool readNewStatistics();
    bool readMissingHistograms();
    void addStatistics(const store::TensorStatsRecord& row);

    QString root_;
    std::unique_ptr<store::Workspace> workspace_;
    std::unique_ptr<store::RunReader> reader_;
    QTimer* timer_ = nullptr;
    TelemetryCatalogue catalogue_;
    int64_t stats_row_id_ = 0;
    TensorSeries series_;
    std::map<int64_t, size_t> step_index_;  // step -> index into series_.steps
    QString last_error_;
};

}  // namespace lowbit::ui

Q_DECLARE_METATYPE(lowbit::ui::TelemetryCatalogue)
Q_DECLARE_METATYPE(lowbit::ui::TensorSeries)
Q_DECLARE_METATYPE(lowbit::ui::StatisticsRows)
