// The worst-layers table of the quantization health view: one row per (layer, tensor kind) of a
// run with the chosen metric at the latest step it recorded and its worst over all its steps
// (docs/studio.md §Quantization health). worst_layers() computes the rows without widgets;
// WorstLayersProxy sorts numbers as numbers and undefined values (NaN) last in either order.
#pragma once

#include "lowbit/store/records.h"

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>

#include <cstdint>
#include <string>
#include <vector>

#include "health/health_metrics.h"

namespace lowbit::ui {

struct WorstLayerRow {
    std::string layer;
    std::string kind;
    int64_t latest_step = 0;
    double latest = 0;       // the metric at latest_step (NaN: undefined there)
    double worst = 0;        // the worst defined value over the steps (NaN: none defined)
    int64_t worst_step = 0;  // the first step with that value
};

// Rows in model order: layers by natural_less, kinds as tensor_kinds() lists them.
std::vector<WorstLayerRow> worst_layers(const std::vector<store::TensorStatsRecord>& rows,
                                        HealthMetric metric);

class WorstLayersModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column { kLayer, kKind, kLatestStep, kLatest, kWorst, kWorstStep, kColumnCount };

    // The raw value of a cell (a double for the numbers, NaN when undefined): sort and tests.
    static constexpr int kSortRole = Qt::UserRole;

    explicit WorstLayersModel(QObject* parent = nullptr);

    void setRows(HealthMetric metric, std::vector<WorstLayerRow> rows);

    const std::vector<WorstLayerRow>& rows() const {
        return rows_;
    }

    HealthMetric metric() const {
        return metric_;
    }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section,
                        Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    HealthMetric metric_ = HealthMetric::kSqnr;
    std::vector<WorstLayerRow> rows_;
};

class WorstLayersProxy : public QSortFilterProxyModel {
    Q_OBJECT

public:
    explicit WorstLayersProxy(QObject* parent = nullptr);

protected:
    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override;
};

}  // namespace lowbit::ui
