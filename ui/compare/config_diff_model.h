// ConfigDiffModel: the config diff as a table (docs/studio.md §Compare): a row per recipe key of
// the schema table (the key in the vertical header, its doc as the tooltip), a column per run
// with the baseline run first and bold. With the diff-only toggle on, only the keys whose values
// differ between the runs are rows. A run whose stored recipe cannot be read shows why in its
// column instead of values.
#pragma once

#include <QAbstractTableModel>
#include <QString>

#include <vector>

#include "compare/config_diff.h"

namespace lowbit::ui {

struct RecipeRun {
    QString name;
    RecipeColumn recipe;
};

class ConfigDiffModel : public QAbstractTableModel {
    Q_OBJECT

public:
    // Qt::UserRole: whether the row's key differs between the runs (bool).
    static constexpr int kDiffersRole = Qt::UserRole;

    explicit ConfigDiffModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    // `baseline` indexes `runs`; that run becomes column 0.
    void setRuns(std::vector<RecipeRun> runs, size_t baseline = 0);
    void setDiffOnly(bool on);

    bool diffOnly() const {
        return diff_only_;
    }

    // The key path of a row.
    QString key(int row) const;

private:
    void rebuild();

    std::vector<RecipeRun> runs_;  // baseline first
    std::vector<ConfigDiffRow> all_rows_;
    std::vector<size_t> shown_;  // indices into all_rows_
    bool diff_only_ = false;
};

}  // namespace lowbit::ui
