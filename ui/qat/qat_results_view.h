// QatResultsView: the EfficientQAT results table (docs/studio.md §EfficientQAT): a source model
// picked among the runs that `qat` runs were made from, its FP row and every method and grid as
// rows (QatResultsModel), sortable; double-clicking a row activates its run. Re-read on Refresh,
// when shown, and every few seconds while one of its runs is live.
#pragma once

#include <QString>
#include <QWidget>

#include "qat/qat_results.h"

class QComboBox;
class QLabel;
class QSortFilterProxyModel;
class QTableView;
class QTimer;

namespace lowbit::ui {

class QatResultsModel;

class QatResultsView : public QWidget {
    Q_OBJECT

public:
    static constexpr int kLiveRefreshMs = 3000;

    explicit QatResultsView(QWidget* parent = nullptr);

    void setWorkspace(const QString& root);
    void refresh();
    // Shows the table of `source_run_id` (kept when it has no qat run yet).
    void setSource(qint64 source_run_id);

    qint64 source() const {
        return source_;
    }

    QatResultsModel* model() const {
        return model_;
    }

    QTableView* table() const {
        return table_;
    }

    QComboBox* sourceBox() const {
        return source_box_;
    }

Q_SIGNALS:
    void runActivated(qint64 run_id);

protected:
    void showEvent(QShowEvent* event) override;

private:
    QString root_;
    qint64 source_ = 0;
    QComboBox* source_box_;
    QLabel* message_;
    QatResultsModel* model_;
    QSortFilterProxyModel* proxy_;
    QTableView* table_;
    QTimer* live_timer_;
    bool updating_ = false;
};

}  // namespace lowbit::ui
