#include "widgets/snapshot.h"

#include "lowbit/config/recipe_json.h"

#include <QApplication>
#include <QHeaderView>
#include <QImage>
#include <QPixmap>
#include <QTableView>
#include <QVector>

#include <algorithm>
#include <memory>
#include <set>

#include "charts/charts_view.h"
#include "controllers/workspace_worker.h"
#include "editor/experiment_editor.h"
#include "editor/recipe_form.h"
#include "models/runs_model.h"
#include "widgets/run_browser.h"

namespace lowbit::ui {

int render_snapshot(const SnapshotOptions& options, QString& error) {
    const QStringList built = {
        QStringLiteral("runs"), QStringLiteral("editor"), QStringLiteral("charts")};
    const QStringList planned = {QStringLiteral("histograms")};
    if (planned.contains(options.view)) {
        error = QStringLiteral(
                    "--view %1: this view is not built yet (available: runs, editor, charts)")
                    .arg(options.view);
        return 2;
    }
    if (!built.contains(options.view)) {
        error = QStringLiteral("--view %1: unknown view (runs, editor, charts, histograms)")
                    .arg(options.view);
        return 2;
    }
    if (!options.layer.isEmpty() || !options.kind.isEmpty()) {
        error = QStringLiteral("--layer/--kind apply to --view histograms only");
        return 2;
    }
    RunsModel model;
    WorkspaceWorker worker(options.workspace);
    QString failure;
    QObject::connect(
        &worker, &WorkspaceWorker::failed, [&failure](const QString& m) { failure = m; });
    QObject::connect(&worker, &WorkspaceWorker::runsRead, &model, &RunsModel::setRuns);
    worker.open(0);
    if (!failure.isEmpty()) {
        error = failure;
        return 2;
    }
    if (!options.runs.isEmpty()) {
        std::set<int64_t> chosen;
        for (const QString& wanted : options.runs) {
            bool found = false;
            for (const RunRow& row : model.runs()) {
                if (QString::number(row.record.id) == wanted ||
                    QString::fromStdString(row.record.name) == wanted) {
                    chosen.insert(row.record.id);
                    found = true;
                }
            }
            if (!found) {
                error = QStringLiteral("--runs: no run %1 in %2").arg(wanted, options.workspace);
                return 2;
            }
        }
        for (const RunRow& row : model.runs()) {
            model.setVisible(row.record.id, chosen.count(row.record.id) > 0);
        }
    }
    QWidget* view = nullptr;
    std::unique_ptr<QWidget> owner;
    if (options.view == QLatin1String("editor")) {
        // The recipe of the first chosen run (--runs), else the W8A8G8 preset, so the matrix
        // shows quantized rows.
        auto* editor = new ExperimentEditor;
        owner.reset(editor);
        view = editor;
        const auto visible = model.visibleRuns();
        const RunRow* shown = nullptr;
        for (const RunRow& row : model.runs()) {
            if (!options.runs.isEmpty() && !shown &&
                std::find(visible.begin(), visible.end(), row.record.id) != visible.end()) {
                shown = &row;
            }
        }
        if (shown != nullptr) {
            editor->form()->setRecipe(
                config::recipe_from_json(nlohmann::json::parse(shown->record.recipe_json)));
            editor->syncFromForm();
        } else {
            editor->loadRecipeFile(QStringLiteral(":/lowbit/presets/pretrain/gpt2/w8a8g8.yaml"));
        }
    } else if (options.view == QLatin1String("runs")) {
        auto* browser = new RunBrowser(&model);
        owner.reset(browser);
        view = browser;
    } else {
        auto* charts = new ChartsView(&model);
        owner.reset(charts);
        view = charts;
        QObject::connect(&worker, &WorkspaceWorker::chartsRead, charts, &ChartsView::onChartsRead);
        const auto ids = model.visibleRuns();
        worker.setVisibleRuns(QVector<qint64>(ids.begin(), ids.end()));
    }
    view->setAttribute(Qt::WA_DontShowOnScreen);
    view->resize(options.size);
    view->show();
    QApplication::processEvents();
    if (auto* charts = qobject_cast<ChartsView*>(view)) {
        for (ScalarChart* chart : charts->charts()) {
            chart->resetZoom();
            chart->plot()->replot();
        }
    }
    QApplication::processEvents();
    if (auto* browser = qobject_cast<RunBrowser*>(view)) {
        // The table's rows and no empty area below them (at most the fixed size; a few rows
        // would otherwise leave most of the image blank).
        QTableView* table = browser->table();
        const int unused = table->viewport()->height() - table->verticalHeader()->length();
        const int height = std::max(200, options.size.height() - std::max(0, unused - 24));
        browser->resize(options.size.width(), height);
        QApplication::processEvents();
    }
    const QImage image = view->grab().toImage();
    if (!image.save(options.out, "PNG")) {
        error = QStringLiteral("%1: cannot write the PNG").arg(options.out);
        return 1;
    }
    return 0;
}

}  // namespace lowbit::ui
