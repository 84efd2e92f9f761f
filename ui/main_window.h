// MainWindow: the studio's frame and wiring, no logic of its own: the charts in the centre, the
// run browser and the launch panel as docks (stable object names, layout saved in QSettings),
// the experiment editor and the histogram inspector as docks, the workspace worker in its own
// thread, menus with the standard shortcuts, recent workspaces, light/dark palettes, and a status
// bar with the workspace and the number of running runs.
#pragma once

#include "lowbit/store/run_alerts.h"

#include <QLabel>
#include <QMainWindow>
#include <QPointer>
#include <QThread>

#include <vector>

#include "widgets/app_palette.h"

namespace lowbit::ui {

class ChartsView;
class CompareView;
class ExperimentEditor;
class HealthView;
class HistogramInspector;
class AlertsModel;
class LaunchPanel;
class LayoutController;
class RunBrowser;
class RunLauncher;
class RunsModel;
class TradeoffView;
class QatPhaseView;
class QatResultsView;
class WorkspaceWorker;

class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    // Bump when the set of docks changes, so an old saved layout is not applied.
    static constexpr int kLayoutVersion = 5;

    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    void openWorkspace(const QString& root);

    const QString& workspace() const {
        return workspace_;
    }

    RunsModel* runsModel() const {
        return runs_;
    }

    RunBrowser* runBrowser() const {
        return browser_;
    }

    ChartsView* chartsView() const {
        return charts_;
    }

    RunLauncher* launcher() const {
        return launcher_;
    }

    ExperimentEditor* editor() const {
        return editor_;
    }

    HistogramInspector* histograms() const {
        return histograms_;
    }

    AlertsModel* alerts() const {
        return alerts_;
    }

    CompareView* compareView() const {
        return compare_;
    }

    HealthView* health() const {
        return health_;
    }

    QatPhaseView* qatPhases() const {
        return qat_phases_;
    }

    QatResultsView* qatResults() const {
        return qat_results_;
    }

    LayoutController* layoutController() const {
        return layout_;
    }

    void setColourScheme(ColourScheme scheme);

protected:
    void closeEvent(QCloseEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void buildMenus();
    void updateRecentMenu();
    void updateStatus();
    void stopWorker();
    void pushVisibleRuns();
    void stopRun(qint64 run_id);
    // Opens the editor on a fork of the run from its checkpoint at `step`.
    void forkRun(qint64 run_id, qint64 step);
    void editSentinelRules();
    void onAlerts(const std::vector<store::AlertRecord>& alerts, bool raised_now);

    QString workspace_;
    RunsModel* runs_ = nullptr;
    RunBrowser* browser_ = nullptr;
    ChartsView* charts_ = nullptr;
    RunLauncher* launcher_ = nullptr;
    LaunchPanel* launch_panel_ = nullptr;
    ExperimentEditor* editor_ = nullptr;
    HistogramInspector* histograms_ = nullptr;
    CompareView* compare_ = nullptr;
    HealthView* health_ = nullptr;
    TradeoffView* tradeoff_ = nullptr;
    QatPhaseView* qat_phases_ = nullptr;
    QatResultsView* qat_results_ = nullptr;
    QString qat_results_signature_;  // the runs its table was last read for
    LayoutController* layout_ = nullptr;
    QDockWidget* launch_dock_ = nullptr;
    AlertsModel* alerts_ = nullptr;
    QDockWidget* alerts_dock_ = nullptr;
    QThread worker_thread_;
    QPointer<WorkspaceWorker> worker_;
    QMenu* recent_menu_ = nullptr;
    QMenu* view_menu_ = nullptr;
    QLabel* workspace_label_ = nullptr;
    QLabel* running_label_ = nullptr;
};

}  // namespace lowbit::ui
