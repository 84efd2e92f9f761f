#include "compare/seed_groups_model.h"

#include <QStringList>

namespace lowbit::ui {

SeedGroupsModel::SeedGroupsModel(QObject* parent) : QAbstractTableModel(parent) {}

int SeedGroupsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(groups_.size());
}

int SeedGroupsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : kColumnCount;
}

QVariant SeedGroupsModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid)) {
        return {};
    }
    const store::SeedAggregate& group = groups_[static_cast<size_t>(index.row())];
    auto optional_number = [role](const std::optional<double>& v) -> QVariant {
        if (!v) {
            return role == Qt::DisplayRole ? QVariant(QStringLiteral("-")) : QVariant();
        }
        return role == Qt::DisplayRole ? QVariant(QString::number(*v, 'f', 4)) : QVariant(*v);
    };
    if (role == Qt::TextAlignmentRole) {
        return index.column() == kGroup || index.column() == kSeeds
                   ? QVariant(static_cast<int>(Qt::AlignLeft | Qt::AlignVCenter))
                   : QVariant(static_cast<int>(Qt::AlignRight | Qt::AlignVCenter));
    }
    if (role == Qt::ToolTipRole && index.column() == kDiverged && group.earliest_divergence_step) {
        return tr("first divergence at step %1").arg(*group.earliest_divergence_step);
    }
    if (role != Qt::DisplayRole && role != kValueRole) {
        return {};
    }
    switch (index.column()) {
        case kGroup:
            return QString::fromStdString(group.label);
        case kRuns:
            return static_cast<int>(group.run_ids.size());
        case kSeeds: {
            QStringList seeds;
            for (uint64_t seed : group.seeds) {
                seeds << QString::number(seed);
            }
            return seeds.join(QStringLiteral(", "));
        }
        case kCompleted:
            return group.completed;
        case kDiverged:
            return group.diverged;
        case kMeanValLoss:
            return optional_number(group.mean_val_loss);
        case kSdValLoss:
            return optional_number(group.sd_val_loss);
        case kWithValLoss:
            return group.with_val_loss;
        default:
            return {};
    }
}

QVariant SeedGroupsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    switch (section) {
        case kGroup:
            return tr("Group");
        case kRuns:
            return tr("Runs");
        case kSeeds:
            return tr("Seeds");
        case kCompleted:
            return tr("Completed");
        case kDiverged:
            return tr("Diverged");
        case kMeanValLoss:
            return tr("final val/loss mean");
        case kSdValLoss:
            return tr("sd");
        case kWithValLoss:
            return tr("n");
        default:
            return {};
    }
}

void SeedGroupsModel::setGroups(std::vector<store::SeedAggregate> groups) {
    beginResetModel();
    groups_ = std::move(groups);
    endResetModel();
}

}  // namespace lowbit::ui
