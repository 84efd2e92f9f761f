#include "health/cross_run_reader.h"

#include "lowbit/store/open_for_reading.h"

#include <algorithm>
#include <exception>

namespace lowbit::ui {

RunHistograms read_run_histograms(const store::RunReader& reader,
                                  int64_t run_id,
                                  const std::string& layer,
                                  const std::string& kind) {
    RunHistograms run;
    run.run_id = run_id;
    std::map<int64_t, store::HistogramRecord> by_step;
    for (auto& row : reader.histograms(run_id, layer, kind)) {
        if (row.bin_scheme != "uniform") {
            continue;
        }
        // A resumed run records the steps after its checkpoint again: the newer row wins.
        auto& slot = by_step[row.step];
        if (slot.row_id < row.row_id) {
            slot = std::move(row);
        }
    }
    for (auto& [step, row] : by_step) {
        run.uniform.push_back(std::move(row));
    }
    for (const auto& point : reader.scalars(run_id, "tokens")) {
        run.tokens[point.step] = point.tokens;  // ordered by row id: the newest wins
    }
    return run;
}

CrossRunReader::CrossRunReader(QString workspace_root, QObject* parent)
    : QObject(parent), root_(std::move(workspace_root)) {
    qRegisterMetaType<lowbit::ui::CrossRunData>();
}

CrossRunReader::~CrossRunReader() = default;

void CrossRunReader::open() {
    try {
        workspace_ =
            std::make_unique<store::Workspace>(store::open_for_reading(root_.toStdString()));
        reader_ = std::make_unique<store::RunReader>(*workspace_);
    } catch (const std::exception& error) {
        Q_EMIT failed(QString::fromStdString(error.what()));
    }
}

void CrossRunReader::read(const QList<qint64>& run_ids, const QString& layer, const QString& kind) {
    if (!reader_) {
        return;
    }
    CrossRunData data;
    data.layer = layer.toStdString();
    data.kind = kind.toStdString();
    try {
        for (qint64 id : run_ids) {
            data.runs.push_back(read_run_histograms(*reader_, id, data.layer, data.kind));
        }
    } catch (const std::exception& error) {
        Q_EMIT failed(QString::fromStdString(error.what()));
        return;
    }
    Q_EMIT dataRead(data);
}

}  // namespace lowbit::ui
