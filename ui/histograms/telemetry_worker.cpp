#include "histograms/telemetry_worker.h"

#include "lowbit/store/open_for_reading.h"

#include <algorithm>
#include <exception>

namespace lowbit::ui {

TelemetryWorker::TelemetryWorker(QString workspace_root, QObject* parent)
    : QObject(parent), root_(std::move(workspace_root)) {
    qRegisterMetaType<lowbit::ui::TelemetryCatalogue>();
    qRegisterMetaType<lowbit::ui::TensorSeries>();
    qRegisterMetaType<lowbit::ui::StatisticsRows>();
}

TelemetryWorker::~TelemetryWorker() = default;

void TelemetryWorker::open(int interval_ms) {
    try {
        workspace_ =
            std::make_unique<store::Workspace>(store::open_for_reading(root_.toStdString()));
        reader_ = std::make_unique<store::RunReader>(*workspace_);
    } catch (const std::exception& error) {
        Q_EMIT failed(QString::fromStdString(error.what()));
        return;
    }
    if (interval_ms > 0) {
        timer_ = new QTimer(this);
        connect(timer_, &QTimer::timeout, this, &TelemetryWorker::poll);
        timer_->start(interval_ms);
    }
    poll();
}

std::optional<int64_t> TelemetryWorker::firstRunWithTelemetry(
    const std::vector<int64_t>& run_ids) const {
    if (!reader_) {
        return std::nullopt;
    }
    for (int64_t id : run_ids) {
        if (!reader_->tensor_stats(id).empty()) {
            return id;
        }
    }
    return std::nullopt;
}

void TelemetryWorker::select(qint64 run_id, const QString& layer, const QString& kind) {
    const std::string layer_name = layer.toStdString();
    const std::string kind_name = kind.toStdString();
    if (run_id == catalogue_.run_id && layer_name == series_.layer && kind_name == series_.kind) {
        return;
    }
    if (run_id != catalogue_.run_id) {
        catalogue_ = TelemetryCatalogue{};
        catalogue_.run_id = run_id;
        stats_row_id_ = 0;
    }
    series_ = TensorSeries{run_id, layer_name, kind_name, {}};
    step_index_.clear();
    if (reader_ && !layer_name.empty() && !kind_name.empty()) {
        try {
            // The whole series at once: its statistics, then its histograms in one read.
            for (const auto& row : reader_->tensor_stats(run_id, layer_name, kind_name)) {
                addStatistics(row);
            }
            readMissingHistograms();
        } catch (const std::exception& error) {
            Q_EMIT failed(QString::fromStdString(error.what()));
        }
    }
    poll();
    Q_EMIT seriesRead(series_);
}

void TelemetryWorker::poll() {
    if (!reader_ || catalogue_.run_id == 0) {
        return;
    }
    try {
        const bool catalogue_changed = readNewStatistics();
        const bool series_changed = readMissingHistograms() || catalogue_changed;
        if (series_changed && !series_.layer.empty()) {
            Q_EMIT seriesRead(series_);
        }
        if (catalogue_changed) {
            Q_EMIT catalogueRead(catalogue_);
        }
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

bool TelemetryWorker::readNewStatistics() {
    StatisticsRows read{catalogue_.run_id, stats_row_id_ == 0, {}};
    read.rows = reader_->tensor_stats(catalogue_.run_id, {}, {}, stats_row_id_);
    const auto& rows = read.rows;
    if (rows.empty()) {
        return false;
    }
    for (const auto& row : rows) {
        // Ordered by step, not by row id: the largest id read is the next starting point.
        stats_row_id_ = std::max(stats_row_id_, row.row_id);
        catalogue_.tensors[row.layer].insert(row.tensor_kind);
        catalogue_.last_step = std::max(catalogue_.last_step, row.step);
        if (row.layer == series_.layer && row.tensor_kind == series_.kind) {
            addStatistics(row);
        }
    }
    Q_EMIT statisticsRead(read);
    return true;
}

void TelemetryWorker::addStatistics(const store::TensorStatsRecord& row) {
    const auto found = step_index_.find(row.step);
    if (found != step_index_.end()) {
        // A resumed run records the steps after its checkpoint again: the newer row wins.
        if (row.row_id > series_.steps[found->second].stats.row_id) {
            series_.steps[found->second] = TensorStep{row, std::nullopt, std::nullopt};
        }
        return;
    }
    TensorStep step{row, std::nullopt, std::nullopt};
    const auto at = std::lower_bound(
        series_.steps.begin(), series_.steps.end(), row.step, [](const TensorStep& s, int64_t v) {
            return s.stats.step < v;
        });
    series_.steps.insert(at, std::move(step));
    step_index_.clear();
    for (size_t i = 0; i < series_.steps.size(); ++i) {
        step_index_[series_.steps[i].stats.step] = i;
    }
}

bool TelemetryWorker::readMissingHistograms() {
    std::vector<int64_t> missing;
    for (const auto& step : series_.steps) {
        if (!step.uniform || !step.fixed) {
            missing.push_back(step.stats.step);
        }
    }
    if (missing.empty()) {
        return false;
    }
    // Many missing steps (a first read): one query for the whole tensor; a few (a live run's
    // new steps): one query per step.
    std::vector<store::HistogramRecord> rows;
    if (missing.size() > 4) {
        rows = reader_->histograms(series_.run_id, series_.layer, series_.kind);
    } else {
        for (int64_t step : missing) {
            auto some = reader_->histograms(series_.run_id, series_.layer, series_.kind, step);
            rows.insert(rows.end(),
                        std::make_move_iterator(some.begin()),
                        std::make_move_iterator(some.end()));
        }
    }
    bool changed = false;
    for (auto& row : rows) {
        const auto found = step_index_.find(row.step);
        if (found == step_index_.end()) {
            continue;  // its statistics row is not committed yet: next poll
        }
        TensorStep& step = series_.steps[found->second];
        auto& slot = row.bin_scheme == "uniform" ? step.uniform : step.fixed;
        if (!slot || slot->row_id < row.row_id) {
            slot = std::move(row);
            changed = true;
        }
    }
    return changed;
}

}  // namespace lowbit::ui
