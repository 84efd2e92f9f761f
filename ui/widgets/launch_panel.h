// LaunchPanel: the launch-and-monitor dock: a recipe file with optional `--set` overrides, the
// number of data-parallel ranks on this machine (docs/distributed.md) and a concurrency limit, the
// queue of launches with a progress bar, ETA and tokens/s each, stop and resume buttons, and the
// console (stderr) of the selected launch.
#pragma once

#include <QWidget>

class QLineEdit;
class QPlainTextEdit;
class QSpinBox;
class QTableWidget;

namespace lowbit::ui {

class RunLauncher;

class LaunchPanel : public QWidget {
    Q_OBJECT

public:
    explicit LaunchPanel(RunLauncher* launcher, QWidget* parent = nullptr);

    QTableWidget* queue() const {
        return queue_;
    }

    QPlainTextEdit* console() const {
        return console_;
    }

    void selectLaunch(int launch_id);

    // `--nproc-per-node N` when the Ranks field asks for more than one rank, else nothing: the
    // options every launch of this studio takes (this dock's own, the editor's train and qat).
    QStringList rankOptions() const;

private:
    void refresh(int launch_id);
    int selectedLaunch() const;

    RunLauncher* launcher_;
    QLineEdit* recipe_;
    QLineEdit* overrides_;
    QSpinBox* ranks_;  // > 1: `lowbit train|qat --nproc-per-node N`
    QSpinBox* concurrency_;
    QTableWidget* queue_;
    QPlainTextEdit* console_;
};

}  // namespace lowbit::ui
