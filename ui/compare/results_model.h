// RunResultsModel: the compared runs' results (docs/studio.md §Compare), one row per run with the
// baseline first: final and best val/loss and train/loss from lowbit_store's run_results(), each
// with its difference to the baseline's value, green where the run does better than the baseline
// and red where it does worse (lower is better for losses: store::lower_is_better()).
#pragma once

#include "lowbit/store/run_results.h"

#include <QAbstractTableModel>
#include <QColor>
#include <QString>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::ui {

struct ResultsRun {
    int64_t run_id = 0;
    QString name;
    store::RunResults results;
};

class RunResultsModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column : int {
        kRun,
        kFinalVal,
        kFinalValDelta,
        kBestVal,
        kBestValDelta,
        kFinalTrain,
        kFinalTrainDelta,
        kBestTrain,
        kBestTrainDelta,
        kColumnCount
    };

    // Qt::UserRole: the number shown (double; invalid when there is none); RunIdRole: the run.
    static constexpr int kValueRole = Qt::UserRole;
    static constexpr int kRunIdRole = Qt::UserRole + 1;
    static inline const QColor kBetter{0x2c, 0xa0, 0x2c};
    static inline const QColor kWorse{0xd6, 0x27, 0x28};

    explicit RunResultsModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    // `baseline` indexes `runs`; that run becomes row 0.
    void setRuns(std::vector<ResultsRun> runs, size_t baseline = 0);

    // The metric key of a column ("val/loss", "train/loss") and whether it is the best value.
    static std::string metricKey(int column);
    static bool isBest(int column);
    static bool isDelta(int column);

    // The value of a cell (a metric, or its difference to the baseline's); nullopt when either is
    // missing.
    std::optional<double> value(int row, int column) const;

private:
    std::vector<ResultsRun> runs_;  // baseline first
};

}  // namespace lowbit::ui
