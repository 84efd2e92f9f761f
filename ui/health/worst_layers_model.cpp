#include "health/worst_layers_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include "health/health_grid.h"
#include "histograms/histogram_math.h"

namespace lowbit::ui {

namespace {

size_t kindRank(const std::string& kind) {
    const auto& kinds = tensor_kinds();
    return static_cast<size_t>(std::find(kinds.begin(), kinds.end(), kind) - kinds.begin());
}

QString shown(double value) {
    if (std::isnan(value)) {
        return QStringLiteral("—");
    }
    if (std::isinf(value)) {
        return value > 0 ? QStringLiteral("+∞") : QStringLiteral("−∞");
    }
    return QString::number(value, 'g', 4);
}

}  // namespace

std::vector<WorstLayerRow> worst_layers(const std::vector<store::TensorStatsRecord>& rows,
                                        HealthMetric metric) {
    // newest_rows() orders by step, so each tensor's last row is its latest step.
    std::map<std::pair<std::string, std::string>, WorstLayerRow> tensors;
    for (const auto& row : newest_rows(rows)) {
        const double value = health_metric_value(row, metric);
        auto [it, inserted] = tensors.try_emplace({row.layer, row.tensor_kind});
        WorstLayerRow& out = it->second;
        if (inserted) {
            out = {row.layer,
                   row.tensor_kind,
                   row.step,
                   value,
                   std::numeric_limits<double>::quiet_NaN(),
                   row.step};
        }
        out.latest_step = row.step;
        out.latest = value;
        if (health_worse(metric, value, out.worst)) {
            out.worst = value;
            out.worst_step = row.step;
        }
    }
    std::vector<WorstLayerRow> out;
    out.reserve(tensors.size());
    for (auto& [key, row] : tensors) {
        out.push_back(std::move(row));
    }
    std::sort(out.begin(), out.end(), [](const WorstLayerRow& a, const WorstLayerRow& b) {
        if (a.layer != b.layer) {
            return natural_less(a.layer, b.layer);
        }
        return kindRank(a.kind) < kindRank(b.kind);
    });
    return out;
}

WorstLayersModel::WorstLayersModel(QObject* parent) : QAbstractTableModel(parent) {}

void WorstLayersModel::setRows(HealthMetric metric, std::vector<WorstLayerRow> rows) {
    beginResetModel();
    metric_ = metric;
    rows_ = std::move(rows);
    endResetModel();
    // The unit in the value columns' headers follows the metric.
    Q_EMIT headerDataChanged(Qt::Horizontal, kLatest, kWorst);
}

int WorstLayersModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int WorstLayersModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : kColumnCount;
}

QVariant WorstLayersModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= kColumnCount) {
        return {};
    }
    const WorstLayerRow& row = rows_[static_cast<size_t>(index.row())];
    const auto column = static_cast<Column>(index.column());
    if (role == Qt::DisplayRole) {
        switch (column) {
            case kLayer:
                return QString::fromStdString(row.layer);
            case kKind:
                return QString::fromStdString(tensor_kind_short(row.kind));
            case kLatestStep:
                return QVariant::fromValue<qlonglong>(row.latest_step);
            case kLatest:
                return shown(row.latest);
            case kWorst:
                return shown(row.worst);
            case kWorstStep:
                return std::isnan(row.worst) ? QVariant(QStringLiteral("—"))
                                             : QVariant::fromValue<qlonglong>(row.worst_step);
            case kColumnCount:
                break;
        }
    } else if (role == kSortRole) {
        switch (column) {
            case kLayer:
                return QString::fromStdString(row.layer);
            case kKind:
                return QVariant::fromValue<qlonglong>(static_cast<qlonglong>(kindRank(row.kind)));
            case kLatestStep:
                return static_cast<double>(row.latest_step);
            case kLatest:
                return row.latest;
            case kWorst:
                return row.worst;
            case kWorstStep:
                return std::isnan(row.worst) ? std::numeric_limits<double>::quiet_NaN()
                                             : static_cast<double>(row.worst_step);
            case kColumnCount:
                break;
        }
    } else if (role == Qt::TextAlignmentRole && column != kLayer && column != kKind) {
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    } else if (role == Qt::ToolTipRole && column == kLayer) {
        return QString::fromStdString(row.layer + " · " + row.kind);
    }
    return {};
}

QVariant WorstLayersModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    const QString unit = QString::fromUtf8(health_metric_info(metric_).unit);
    const QString suffix = unit.isEmpty() ? QString() : QStringLiteral(" (") + unit + ')';
    switch (section) {
        case kLayer:
            return tr("Layer");
        case kKind:
            return tr("Kind");
        case kLatestStep:
            return tr("Latest step");
        case kLatest:
            return tr("At latest") + suffix;
        case kWorst:
            return tr("Worst") + suffix;
        case kWorstStep:
            return tr("Worst at step");
        default:
            return {};
    }
}

WorstLayersProxy::WorstLayersProxy(QObject* parent) : QSortFilterProxyModel(parent) {
    setSortRole(WorstLayersModel::kSortRole);
}

bool WorstLayersProxy::lessThan(const QModelIndex& left, const QModelIndex& right) const {
    const QVariant a = left.data(sortRole());
    const QVariant b = right.data(sortRole());
    if (a.typeId() != QMetaType::Double || b.typeId() != QMetaType::Double) {
        return QSortFilterProxyModel::lessThan(left, right);
    }
    const double x = a.toDouble(), y = b.toDouble();
    // Undefined values last whichever way the column is sorted.
    if (std::isnan(x) || std::isnan(y)) {
        if (std::isnan(x) == std::isnan(y)) {
            return false;
        }
        return std::isnan(x) ? sortOrder() == Qt::DescendingOrder
                             : sortOrder() == Qt::AscendingOrder;
    }
    return x < y;
}

}  // namespace lowbit::ui
