// FirstRowsProxy: the first rows of a table model and no more, e.g. the worst of a sorted
// worst-layers table in a report (docs/studio.md §Export and reports).
#pragma once

#include <QIdentityProxyModel>

namespace lowbit::ui {

class FirstRowsProxy : public QIdentityProxyModel {
    Q_OBJECT

public:
    explicit FirstRowsProxy(int limit, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;

private:
    int limit_;
};

}  // namespace lowbit::ui
