// SeedGroupsModel: the groups of the compared runs (run_groups.h) as a table, one row per group:
// its label, runs, seeds, completed and diverged counts, and the final val/loss over its
// completed runs as mean ± sample sd with the number of runs averaged (docs/studio.md §Compare).
#pragma once

#include "lowbit/store/run_aggregate.h"

#include <QAbstractTableModel>

#include <vector>

namespace lowbit::ui {

class SeedGroupsModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column : int {
        kGroup,
        kRuns,
        kSeeds,
        kCompleted,
        kDiverged,
        kMeanValLoss,
        kSdValLoss,
        kWithValLoss,
        kColumnCount
    };

    // Qt::UserRole: the number shown (invalid when there is none).
    static constexpr int kValueRole = Qt::UserRole;

    explicit SeedGroupsModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    void setGroups(std::vector<store::SeedAggregate> groups);

    const std::vector<store::SeedAggregate>& groups() const {
        return groups_;
    }

private:
    std::vector<store::SeedAggregate> groups_;
};

}  // namespace lowbit::ui
