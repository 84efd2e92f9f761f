#include "models/alerts_model.h"

#include <QDateTime>

#include <algorithm>

#include "models/runs_model.h"

namespace lowbit::ui {

AlertsModel::AlertsModel(const RunsModel* runs, QObject* parent)
    : QAbstractTableModel(parent), runs_(runs) {}

void AlertsModel::addAlerts(const std::vector<store::AlertRecord>& alerts) {
    std::vector<store::AlertRecord> fresh;
    for (const auto& alert : alerts) {
        const bool listed = std::any_of(alerts_.begin(), alerts_.end(), [&](const auto& a) {
            return a.row_id == alert.row_id;
        });
        if (!listed) {
            fresh.push_back(alert);
        }
    }
    if (fresh.empty()) {
        return;
    }
    const int first = static_cast<int>(alerts_.size());
    beginInsertRows({}, first, first + static_cast<int>(fresh.size()) - 1);
    alerts_.insert(alerts_.end(), fresh.begin(), fresh.end());
    endInsertRows();
}

void AlertsModel::clear() {
    beginResetModel();
    alerts_.clear();
    endResetModel();
}

int AlertsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(alerts_.size());
}

int AlertsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : kColumnCount;
}

QVariant AlertsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= kColumnCount) {
        return {};
    }
    const auto& alert = alerts_[static_cast<size_t>(index.row())];
    if (role == Qt::ToolTipRole) {
        return QString::fromStdString(alert.message);
    }
    if (role != Qt::DisplayRole) {
        return {};
    }
    switch (index.column()) {
        case kTime:
            return QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(alert.created_at * 1000))
                .toString(QStringLiteral("yyyy-MM-dd hh:mm:ss"));
        case kRun: {
            const RunRow* row = runs_ ? runs_->run(alert.run_id) : nullptr;
            return row && !row->record.name.empty()
                       ? QStringLiteral("%1 %2")
                             .arg(alert.run_id)
                             .arg(QString::fromStdString(row->record.name))
                       : QString::number(alert.run_id);
        }
        case kStep:
            return QVariant::fromValue<qlonglong>(alert.step);
        case kRule:
            return QString::fromStdString(alert.rule);
        case kMessage:
            return QString::fromStdString(alert.message);
    }
    return {};
}

QVariant AlertsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    switch (section) {
        case kTime:
            return tr("Time");
        case kRun:
            return tr("Run");
        case kStep:
            return tr("Step");
        case kRule:
            return tr("Rule");
        case kMessage:
            return tr("Alert");
    }
    return {};
}

}  // namespace lowbit::ui
