// AlertsModel: the divergence sentinel's alerts of the open workspace, oldest first: those stored
// by earlier sessions (read when the workspace opens) and those raised since (docs/studio.md
// §Divergence sentinel). Columns: time, run, step, rule, message.
#pragma once

#include "lowbit/store/run_alerts.h"

#include <QAbstractTableModel>

#include <vector>

namespace lowbit::ui {

class RunsModel;

class AlertsModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column { kTime, kRun, kStep, kRule, kMessage, kColumnCount };

    // `runs` names the runs (may be null: ids only).
    explicit AlertsModel(const RunsModel* runs, QObject* parent = nullptr);

    // Appends the alerts not already listed (by row id).
    void addAlerts(const std::vector<store::AlertRecord>& alerts);
    void clear();

    const std::vector<store::AlertRecord>& alerts() const {
        return alerts_;
    }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section,
                        Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    const RunsModel* runs_;
    std::vector<store::AlertRecord> alerts_;
};

}  // namespace lowbit::ui
