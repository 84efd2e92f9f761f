// RunBrowser: the run browser dock's widget: a filter box over the runs table (sortable, tags,
// notes and group edited in place, a visibility check box and colour swatch per run) with a
// column chooser on the header's context menu.
#pragma once

#include <QWidget>

class QLineEdit;
class QTableView;

namespace lowbit::ui {

class RunsModel;
class RunsFilterProxy;

class RunBrowser : public QWidget {
    Q_OBJECT

public:
    explicit RunBrowser(RunsModel* model, QWidget* parent = nullptr);

    QTableView* table() const {
        return table_;
    }

    RunsFilterProxy* proxy() const {
        return proxy_;
    }

    QLineEdit* filter() const {
        return filter_;
    }

    QByteArray saveHeaderState() const;
    void restoreHeaderState(const QByteArray& state);
    // Run ids of the selected rows.
    QList<qint64> selectedRuns() const;
    // Selects and shows the run's row, clearing a filter that hides it.
    void selectRun(qint64 run_id);

Q_SIGNALS:
    void resumeRequested(qint64 run_id);
    void stopRequested(qint64 run_id);
    // "Fork from checkpoint": a new run from that checkpoint (docs/studio.md §Forking a run).
    void forkRequested(qint64 run_id, qint64 step);

private:
    void showColumnMenu(const QPoint& at);
    void showRunMenu(const QPoint& at);

    RunsModel* model_;
    RunsFilterProxy* proxy_;
    QLineEdit* filter_;
    QTableView* table_;
};

}  // namespace lowbit::ui
