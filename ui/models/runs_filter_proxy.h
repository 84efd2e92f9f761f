// RunsFilterProxy: the run browser's filter and sort. The filter text matches (case-insensitive,
// every word must match somewhere) the name, group, tags, notes, status and bits of a run; sorting
// uses RunsModel::kSortRole so numbers sort as numbers and missing results sort last.
#pragma once

#include <QSortFilterProxyModel>

namespace lowbit::ui {

class RunsFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT

public:
    explicit RunsFilterProxy(QObject* parent = nullptr);
    void setFilterText(const QString& text);

protected:
    bool filterAcceptsRow(int source_row, const QModelIndex& source_parent) const override;

private:
    QStringList words_;
};

}  // namespace lowbit::ui
