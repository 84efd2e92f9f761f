#include "main_window.h"

#include "lowbit/config/recipe_json.h"
#include "lowbit/store/workspace.h"

#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDebug>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QGuiApplication>
#include <QHeaderView>
#include <QLineEdit>
#include <QMenuBar>
#include <QScreen>
#include <QSettings>
#include <QStatusBar>
#include <QTableView>
#include <QUndoStack>

#include <algorithm>
#include <set>

#include "charts/charts_view.h"
#include "compare/compare_view.h"
#include "controllers/engine_locator.h"
#include "controllers/run_launcher.h"
#include "controllers/workspace_worker.h"
#include "diagnose/sentinel_settings.h"
#include "editor/experiment_editor.h"
#include "health/health_view.h"
#include "histograms/histogram_inspector.h"
#include "layout/layout_controller.h"
#include "models/alerts_model.h"
#include "models/runs_model.h"
#include "qat/qat_phase_view.h"
#include "qat/qat_results_view.h"
#include "report/report_action.h"
#include "tradeoff/tradeoff_view.h"
#include "widgets/launch_panel.h"
#include "widgets/run_browser.h"
#include <nlohmann/json.hpp>

namespace lowbit::ui {

namespace {

constexpr int kMaxRecent = 8;
const char* const kRecentKey = "workspaces/recent";

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setObjectName(QStringLiteral("mainWindow"));
    setWindowTitle(tr("Lowbit Studio"));
    setWindowIcon(QIcon(QStringLiteral(":/lowbit/icons/lowbit-studio.svg")));
    setDockOptions(QMainWindow::AllowNestedDocks | QMainWindow::AllowTabbedDocks |
                   QMainWindow::AnimatedDocks);
    runs_ = new RunsModel(this);
    charts_ = new ChartsView(runs_);
    setCentralWidget(charts_);
    layout_ = new LayoutController(charts_, runs_, this);
    connect(layout_, &LayoutController::message, this, [this](const QString& text) {
        statusBar()->showMessage(text, 30000);
    });

    browser_ = new RunBrowser(runs_);
    auto* runs_dock = new QDockWidget(tr("Runs"), this);
    runs_dock->setObjectName(QStringLiteral("runBrowserDock"));
    runs_dock->setWidget(browser_);
    addDockWidget(Qt::LeftDockWidgetArea, runs_dock);

    launch_dock_ = new QDockWidget(tr("Launch"), this);
    launch_dock_->setObjectName(QStringLiteral("launchDock"));
    addDockWidget(Qt::LeftDockWidgetArea, launch_dock_);
    resizeDocks({runs_dock, launch_dock_}, {560, 560}, Qt::Horizontal);
    // The left column (runs, launches) runs the full height; bottom docks sit under the charts.
    setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);

    editor_ = new ExperimentEditor;
    auto* editor_dock = new QDockWidget(tr("Experiment"), this);
    editor_dock->setObjectName(QStringLiteral("editorDock"));
    editor_dock->setWidget(editor_);
    addDockWidget(Qt::RightDockWidgetArea, editor_dock);
    editor_dock->hide();  // opened from View; the charts keep the room by default
    histograms_ = new HistogramInspector(runs_);
    auto* histogram_dock = new QDockWidget(tr("Histograms"), this);
    histogram_dock->setObjectName(QStringLiteral("histogramDock"));
    histogram_dock->setWidget(histograms_);
    addDockWidget(Qt::BottomDockWidgetArea, histogram_dock);
    // The charts keep the larger share of the height.
    resizeDocks({histogram_dock}, {380}, Qt::Vertical);

    alerts_ = new AlertsModel(runs_, this);
    auto* alerts_view = new QTableView;
    alerts_view->setObjectName(QStringLiteral("alertsView"));
    alerts_view->setModel(alerts_);
    alerts_view->verticalHeader()->hide();
    alerts_view->horizontalHeader()->setStretchLastSection(true);
    alerts_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    alerts_dock_ = new QDockWidget(tr("Alerts"), this);
    alerts_dock_->setObjectName(QStringLiteral("alertsDock"));
    alerts_dock_->setWidget(alerts_view);
    addDockWidget(Qt::BottomDockWidgetArea, alerts_dock_);
    tabifyDockWidget(histogram_dock, alerts_dock_);

    compare_ = new CompareView(runs_);
    auto* compare_dock = new QDockWidget(tr("Compare"), this);
    compare_dock->setObjectName(QStringLiteral("compareDock"));
    compare_dock->setWidget(compare_);
    addDockWidget(Qt::BottomDockWidgetArea, compare_dock);
    tabifyDockWidget(histogram_dock, compare_dock);

    health_ = new HealthView(runs_);
    auto* health_dock = new QDockWidget(tr("Health"), this);
    health_dock->setObjectName(QStringLiteral("healthDock"));
    health_dock->setWidget(health_);
    addDockWidget(Qt::BottomDockWidgetArea, health_dock);
    tabifyDockWidget(histogram_dock, health_dock);
    connect(
        health_,
        &HealthView::tensorChosen,
        this,
        [this, histogram_dock](qint64 run, const QString& layer, const QString& kind, qint64 step) {
            histograms_->showStep(run, layer, kind, step);
            histogram_dock->show();
            histogram_dock->raise();
        });

    tradeoff_ = new TradeoffView;
    auto* tradeoff_dock = new QDockWidget(tr("Trade-off"), this);
    tradeoff_dock->setObjectName(QStringLiteral("tradeoffDock"));
    tradeoff_dock->setWidget(tradeoff_);
    addDockWidget(Qt::BottomDockWidgetArea, tradeoff_dock);
    tabifyDockWidget(histogram_dock, tradeoff_dock);
    connect(tradeoff_, &TradeoffView::runActivated, browser_, &RunBrowser::selectRun);

    qat_phases_ = new QatPhaseView(runs_);
    auto* phase_dock = new QDockWidget(tr("QAT phases"), this);
    phase_dock->setObjectName(QStringLiteral("qatPhaseDock"));
    phase_dock->setWidget(qat_phases_);
    addDockWidget(Qt::BottomDockWidgetArea, phase_dock);
    tabifyDockWidget(histogram_dock, phase_dock);
    qat_results_ = new QatResultsView;
    auto* results_dock = new QDockWidget(tr("QAT results"), this);
    results_dock->setObjectName(QStringLiteral("qatResultsDock"));
    results_dock->setWidget(qat_results_);
    addDockWidget(Qt::BottomDockWidgetArea, results_dock);
    tabifyDockWidget(histogram_dock, results_dock);
    connect(qat_results_, &QatResultsView::runActivated, this, [this, phase_dock](qint64 run) {
        browser_->selectRun(run);
        const RunRow* row = runs_->run(run);
        if (row != nullptr && row->record.kind == "qat") {
            qat_phases_->setRun(run);
            phase_dock->show();
            phase_dock->raise();
        }
    });
    // The QAT results follow the workspace as runs start and end (the ids and statuses of the
    // models and QAT runs change), not on every poll.
    connect(runs_, &RunsModel::runsChanged, this, [this] {
        QString signature;
        for (const RunRow& row : runs_->runs()) {
            if (row.record.kind == "qat" || row.record.kind == "train" ||
                row.record.kind == "import") {
                signature +=
                    QStringLiteral("%1:%2;").arg(row.record.id).arg(static_cast<int>(row.observed));
            }
        }
        if (signature != qat_results_signature_) {
            qat_results_signature_ = signature;
            qat_results_->refresh();
        }
    });
    // The editor's source picker offers the trained and imported models of the workspace.
    connect(runs_, &RunsModel::runsChanged, this, [this] {
        std::vector<QatSourceModel> sources;
        for (const RunRow& row : runs_->runs()) {
            if ((row.record.kind != "train" && row.record.kind != "import") ||
                row.checkpoint_steps.empty()) {
                continue;
            }
            try {
                sources.push_back(
                    {row.record.id,
                     QString::fromStdString(row.record.name),
                     config::recipe_from_json(nlohmann::json::parse(row.record.recipe_json))});
            } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): not offered
            }
        }
        editor_->setSourceModels(std::move(sources));
    });
    histogram_dock->raise();

    connect(editor_,
            &ExperimentEditor::launchRequested,
            this,
            [this](const QString& recipe, const QStringList& options) {
                if (launcher_) {
                    launcher_->enqueueTrain(recipe, {}, options + launch_panel_->rankOptions());
                }
            });
    connect(editor_, &ExperimentEditor::qatLaunchRequested, this, [this](const QString& recipe) {
        if (launcher_) {
            launcher_->enqueueQat(recipe, launch_panel_->rankOptions());
        }
    });
    connect(browser_, &RunBrowser::forkRequested, this, &MainWindow::forkRun);

    workspace_label_ = new QLabel;
    running_label_ = new QLabel;
    statusBar()->addWidget(workspace_label_, 1);
    statusBar()->addPermanentWidget(running_label_);

    buildMenus();
    connect(runs_, &RunsModel::visibleRunsChanged, this, &MainWindow::pushVisibleRuns);

    QSettings settings;
    if (!restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray())) {
        // The first start: 1500 × 950, or the screen's free area when smaller.
        const QScreen* screen = QGuiApplication::primaryScreen();
        const QSize room = screen ? screen->availableSize() : QSize(1500, 950);
        resize(std::min(1500, room.width()), std::min(950, room.height()));
    }
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray(), kLayoutVersion);
    browser_->restoreHeaderState(settings.value(QStringLiteral("runs/header")).toByteArray());
}

MainWindow::~MainWindow() {
    stopWorker();
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open = file->addAction(tr("&Open Workspace…"));
    open->setShortcut(QKeySequence::Open);
    connect(open, &QAction::triggered, this, [this] {
        const QString dir =
            QFileDialog::getExistingDirectory(this, tr("Open workspace"), workspace_);
        if (!dir.isEmpty()) {
            openWorkspace(dir);
        }
    });
    recent_menu_ = file->addMenu(tr("Recent Workspaces"));
    updateRecentMenu();
    file->addSeparator();
    add_export_report_action(
        file, this, [this] { return workspace_; }, [this] { return browser_->selectedRuns(); });
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"));
    quit->setShortcut(QKeySequence::Quit);
    connect(quit, &QAction::triggered, this, &QWidget::close);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    QAction* undo = layout_->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    QAction* redo = layout_->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcut(QKeySequence::Redo);
    edit->addAction(undo);
    edit->addAction(redo);
    edit->addSeparator();
    QAction* find = edit->addAction(tr("&Find Runs"));
    find->setShortcut(QKeySequence::Find);
    connect(find, &QAction::triggered, this, [this] { browser_->filter()->setFocus(); });
    edit->addSeparator();
    QAction* sentinel = edit->addAction(tr("Divergence &Sentinel…"));
    connect(sentinel, &QAction::triggered, this, &MainWindow::editSentinelRules);

    view_menu_ = menuBar()->addMenu(tr("&View"));
    QAction* refresh = view_menu_->addAction(tr("&Refresh"));
    refresh->setShortcut(QKeySequence::Refresh);
    connect(refresh, &QAction::triggered, this, [this] {
        if (worker_) {
            QMetaObject::invokeMethod(worker_, &WorkspaceWorker::poll, Qt::QueuedConnection);
        }
    });
    view_menu_->addSeparator();
    for (QDockWidget* dock : findChildren<QDockWidget*>()) {
        view_menu_->addAction(dock->toggleViewAction());
    }
    QMenu* theme = view_menu_->addMenu(tr("Theme"));
    auto* group = new QActionGroup(theme);
    const QString current =
        QSettings().value(QStringLiteral("view/theme"), QStringLiteral("system")).toString();
    for (const auto& [label, name] : {std::pair{tr("System"), QStringLiteral("system")},
                                      std::pair{tr("Light"), QStringLiteral("light")},
                                      std::pair{tr("Dark"), QStringLiteral("dark")}}) {
        QAction* action = theme->addAction(label);
        action->setCheckable(true);
        action->setChecked(current == name);
        group->addAction(action);
        connect(action, &QAction::triggered, this, [this, scheme_name = name] {
            QSettings().setValue(QStringLiteral("view/theme"), scheme_name);
            setColourScheme(colour_scheme_from_string(scheme_name));
        });
    }
}

void MainWindow::setColourScheme(ColourScheme scheme) {
    apply_colour_scheme(scheme);
}

void MainWindow::changeEvent(QEvent* event) {
    if (event->type() == QEvent::PaletteChange ||
        event->type() == QEvent::ApplicationPaletteChange) {
        charts_->applyTheme();
        histograms_->applyTheme();
        compare_->applyTheme();
        if (qat_phases_ != nullptr) {
            qat_phases_->applyTheme();
        }
        if (health_ != nullptr) {
            health_->applyTheme();
        }
    }
    QMainWindow::changeEvent(event);
}

void MainWindow::updateRecentMenu() {
    recent_menu_->clear();
    const QStringList recent = QSettings().value(QLatin1String(kRecentKey)).toStringList();
    for (const QString& path : recent) {
        connect(recent_menu_->addAction(path), &QAction::triggered, this, [this, path] {
            openWorkspace(path);
        });
    }
    recent_menu_->addSeparator();
    QAction* clear = recent_menu_->addAction(tr("Clear Recent"));
    clear->setEnabled(!recent.isEmpty());
    connect(clear, &QAction::triggered, this, [this] {
        QSettings().remove(QLatin1String(kRecentKey));
        updateRecentMenu();
    });
}

void MainWindow::stopWorker() {
    if (worker_thread_.isRunning()) {
        worker_thread_.quit();
        worker_thread_.wait();
    }
}

void MainWindow::openWorkspace(const QString& root) {
    stopWorker();
    workspace_ = QDir(root).absolutePath();
    try {
        // Brings an older workspace to this build's schema before the read-only worker reads it.
        store::Workspace::open(workspace_.toStdString());
    } catch (const std::exception& error) {
        statusBar()->showMessage(QString::fromStdString(error.what()), 10000);
    }
    runs_->setRuns({});
    alerts_->clear();
    QSettings settings;
    QStringList recent = settings.value(QLatin1String(kRecentKey)).toStringList();
    recent.removeAll(workspace_);
    recent.prepend(workspace_);
    settings.setValue(QLatin1String(kRecentKey), recent.mid(0, kMaxRecent));
    updateRecentMenu();

    auto* worker = new WorkspaceWorker(workspace_);
    worker->moveToThread(&worker_thread_);
    connect(&worker_thread_, &QThread::finished, worker, &QObject::deleteLater);
    connect(worker, &WorkspaceWorker::runsRead, runs_, &RunsModel::setRuns);
    connect(worker, &WorkspaceWorker::runsRead, this, &MainWindow::updateStatus);
    connect(worker, &WorkspaceWorker::chartsRead, charts_, &ChartsView::onChartsRead);
    connect(worker, &WorkspaceWorker::failed, this, [this](const QString& message) {
        qWarning().noquote() << "workspace:" << message;  // the status bar forgets it
        statusBar()->showMessage(message, 10000);
    });
    connect(runs_, &RunsModel::annotationEdited, worker, &WorkspaceWorker::writeAnnotation);
    connect(charts_, &ChartsView::displayChanged, worker, &WorkspaceWorker::setDisplay);
    connect(charts_, &ChartsView::chartViewChanged, worker, &WorkspaceWorker::setChartView);
    connect(worker, &WorkspaceWorker::alertsRead, this, &MainWindow::onAlerts);
    worker_ = worker;
    connect(charts_, &ChartsView::seriesOptionsChanged, worker, &WorkspaceWorker::setSeriesOptions);
    layout_->openWorkspace(workspace_);
    QMetaObject::invokeMethod(
        worker,
        [worker, options = charts_->seriesOptions()] { worker->setSeriesOptions(options); },
        Qt::QueuedConnection);
    worker_thread_.start();
    const SentinelRules rules = load_sentinel_rules(settings);
    QMetaObject::invokeMethod(
        worker,
        [worker, rules] {
            worker->setSentinelRules(rules);
            worker->open(500);
        },
        Qt::QueuedConnection);
    pushVisibleRuns();

    delete launcher_;
    launcher_ = new RunLauncher(
        workspace_, locate_engine(settings.value(QStringLiteral("engine/path")).toString()), this);
    delete launch_panel_;
    launch_panel_ = new LaunchPanel(launcher_);
    launch_dock_->setWidget(launch_panel_);
    // No Qt::UniqueConnection: Qt refuses it for a lambda (the connection would not be made);
    // the connection ends with this launcher, which the next workspace replaces.
    connect(browser_, &RunBrowser::resumeRequested, launcher_, [this](qint64 run_id) {
        const RunRow* row = runs_->run(run_id);
        if (row != nullptr && row->record.kind == "qat") {
            launcher_->enqueueQatResume(run_id);
        } else {
            launcher_->enqueueResume(run_id);
        }
    });
    connect(browser_, &RunBrowser::stopRequested, this, &MainWindow::stopRun, Qt::UniqueConnection);
    histograms_->openWorkspace(workspace_);
    compare_->setWorkspace(workspace_);
    health_->openWorkspace(workspace_);

    tradeoff_->setWorkspace(workspace_);
    qat_phases_->setWorkspace(workspace_);
    qat_results_->setWorkspace(workspace_);
    editor_->setLaunchFolder(QDir(workspace_).filePath(QStringLiteral("studio-recipes")));
    workspace_label_->setText(tr("Workspace: %1").arg(workspace_));
    setWindowTitle(tr("Lowbit Studio — %1").arg(workspace_));
}

void MainWindow::pushVisibleRuns() {
    if (!worker_) {
        return;
    }
    const auto ids = runs_->visibleRuns();
    const QVector<qint64> list(ids.begin(), ids.end());
    QMetaObject::invokeMethod(
        worker_, [w = worker_, list] { w->setVisibleRuns(list); }, Qt::QueuedConnection);
}

void MainWindow::forkRun(qint64 run_id, qint64 step) {
    const RunRow* row = runs_->run(run_id);
    if (!row) {
        return;
    }
    try {
        const auto recipe =
            config::recipe_from_json(nlohmann::json::parse(row->record.recipe_json));
        editor_->loadForkRecipe(recipe,
                                ForkOrigin{run_id, step, QString::fromStdString(row->record.name)});
    } catch (const std::exception& e) {
        statusBar()->showMessage(
            tr("Run %1: its stored recipe cannot be read (%2)").arg(run_id).arg(e.what()), 10000);
        return;
    }
    if (auto* dock = qobject_cast<QDockWidget*>(editor_->parentWidget())) {
        dock->show();
        dock->raise();
    }
}

void MainWindow::stopRun(qint64 run_id) {
    if (!launcher_) {
        return;
    }
    if (const Launch* l = launcher_->launchOfRun(run_id)) {
        launcher_->stop(l->id);
    } else if (const RunRow* row = runs_->run(run_id); row && row->record.pid) {
        launcher_->stopProcess(*row->record.pid);
    }
}

void MainWindow::editSentinelRules() {
    QSettings settings;
    SentinelSettingsDialog dialog(load_sentinel_rules(settings), this);
    if (dialog.exec() != QDialog::Accepted) {
        return;
    }
    const SentinelRules rules = dialog.rules();
    save_sentinel_rules(settings, rules);
    if (worker_) {
        QMetaObject::invokeMethod(
            worker_, [w = worker_, rules] { w->setSentinelRules(rules); }, Qt::QueuedConnection);
    }
}

void MainWindow::onAlerts(const std::vector<store::AlertRecord>& alerts, bool raised_now) {
    alerts_->addAlerts(alerts);
    if (!raised_now || alerts.empty()) {
        return;
    }
    // A person watching another window learns of it too (the taskbar entry flashes).
    statusBar()->showMessage(tr("Alert: %1").arg(QString::fromStdString(alerts.back().message)),
                             30000);
    alerts_dock_->show();
    alerts_dock_->raise();
    QApplication::alert(this);
    if (load_sentinel_rules(QSettings()).stop_run) {
        std::set<int64_t> stopped;
        for (const auto& alert : alerts) {
            if (stopped.insert(alert.run_id).second) {
                stopRun(alert.run_id);
            }
        }
    }
}

void MainWindow::updateStatus() {
    int running = 0;
    for (const RunRow& row : runs_->runs()) {
        running += row.observed == store::RunStatus::kRunning ? 1 : 0;
    }
    running_label_->setText(tr("%n running", nullptr, running));
}

void MainWindow::closeEvent(QCloseEvent* event) {
    // Running engine processes are detached: they keep running and a reopened studio finds them.
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState(kLayoutVersion));
    settings.setValue(QStringLiteral("runs/header"), browser_->saveHeaderState());
    layout_->saveNow();
    stopWorker();
    event->accept();
}

}  // namespace lowbit::ui
