// QatPhaseView: an EfficientQAT run's phases (docs/studio.md §EfficientQAT), live while it runs:
// a block x epoch heatmap of the Block-AP reconstruction loss (validation or training MSE, log
// colour scale), the run's one timeline (the run's step: every Block-AP epoch's validation MSE,
// then the E2E-QP training loss on its own axis, a marker where each phase begins) and each
// finished block's time and peak memory. RTN and GPTQ runs show their blocks' times only.
#pragma once

#include <QString>
#include <QWidget>

#include "charts/plot_theme.h"
#include "qat/qat_phase.h"

class QComboBox;
class QCPBars;
class QCPColorMap;
class QCPColorScale;
class QCPGraph;
class QCustomPlot;
class QLabel;
class QTimer;

namespace lowbit::ui {

class RunsModel;

class QatPhaseView : public QWidget {
    Q_OBJECT

public:
    static constexpr int kLiveRefreshMs = 1000;

    // `runs` (may be null) lists the qat runs to pick from.
    explicit QatPhaseView(RunsModel* runs, QWidget* parent = nullptr);

    void setWorkspace(const QString& root);
    void setRun(qint64 run_id);
    // Re-reads the run (the timer calls this while the run is live).
    void refresh();
    // Shows `data` as read (the tests hand it in directly).
    void setData(QatPhaseData data);
    void applyTheme();

    const QatPhaseData& data() const {
        return data_;
    }

    QCustomPlot* plot() const {
        return plot_;
    }

    QCPColorMap* heatmap() const {
        return heatmap_;
    }

    QCPGraph* blockLossGraph() const {
        return block_loss_;
    }

    QCPGraph* e2eLossGraph() const {
        return e2e_loss_;
    }

    QCPBars* blockSecondsBars() const {
        return block_seconds_;
    }

    QCPGraph* blockMemoryGraph() const {
        return block_memory_;
    }

    // The phase markers drawn: (step, name) per phase begun after the first.
    const std::vector<QatPhaseMarker>& markers() const {
        return markers_;
    }

    QComboBox* runBox() const {
        return run_box_;
    }

    QComboBox* lossBox() const {
        return loss_box_;
    }

    QLabel* summaryLabel() const {
        return summary_;
    }

protected:
    void changeEvent(QEvent* event) override;

private:
    void refreshRuns();
    void redraw();

    RunsModel* runs_;
    QString root_;
    qint64 run_id_ = 0;
    QatPhaseData data_;
    PlotTheme theme_;
    QComboBox* run_box_;
    QComboBox* loss_box_;
    QLabel* summary_;
    QCustomPlot* plot_;
    QCPColorScale* colour_scale_ = nullptr;
    QCPColorMap* heatmap_ = nullptr;
    QCPGraph* block_loss_ = nullptr;
    QCPGraph* e2e_loss_ = nullptr;
    QCPBars* block_seconds_ = nullptr;
    QCPGraph* block_memory_ = nullptr;
    std::vector<QatPhaseMarker> markers_;
    QTimer* live_timer_;
};

}  // namespace lowbit::ui
