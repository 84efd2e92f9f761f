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
#include "compare/compare_view.h"
#include "controllers/workspace_worker.h"
#include "editor/experiment_editor.h"
#include "editor/recipe_form.h"
#include "health/cross_run_reader.h"
#include "health/cross_run_view.h"
#include "health/health_view.h"
#include "histograms/histogram_inspector.h"
#include "histograms/telemetry_worker.h"
#include "models/runs_model.h"
#include "qat/qat_phase_view.h"
#include "qat/qat_results_view.h"
#include "tradeoff/tradeoff_view.h"
#include "widgets/run_browser.h"

namespace lowbit::ui {

namespace {

// --kind as a tensor kind ("weight", ...); empty when not given. False (and `error`) when unknown.
bool parse_kind(const SnapshotOptions& options, std::optional<std::string>& kind, QString& error) {
    if (!options.kind.isEmpty()) {
        kind = tensor_kind_from_text(options.kind.toStdString());
        if (!kind) {
            error = QStringLiteral(
                        "--kind %1: expected W, A, G, m or v (or weight, activation, "
                        "grad_output, optim_m, optim_v)")
                        .arg(options.kind);
            return false;
        }
    }
    return true;
}

// The first of --runs, else the newest run with telemetry (nullopt and `error` when none has).
std::optional<int64_t> chosen_run(const TelemetryWorker& telemetry,
                                  const RunsModel& model,
                                  const SnapshotOptions& options,
                                  QString& error) {
    std::vector<int64_t> candidates;
    const auto visible = model.visibleRuns();
    for (const RunRow& row : model.runs()) {  // newest first
        if (options.runs.isEmpty() ||
            std::find(visible.begin(), visible.end(), row.record.id) != visible.end()) {
            candidates.push_back(row.record.id);
        }
    }
    const auto run = options.runs.isEmpty() ? telemetry.firstRunWithTelemetry(candidates)
                                            : std::optional<int64_t>(candidates.front());
    if (!run) {
        error = QStringLiteral("--view %1: no run in %2 has telemetry")
                    .arg(options.view, options.workspace);
    }
    return run;
}

// The inspector on the chosen run (the first of --runs, else the newest run with telemetry),
// layer and kind, its data read synchronously. Returns an exit code (0: ready).
int prepare_histograms(HistogramInspector& inspector,
                       TelemetryWorker& telemetry,
                       const RunsModel& model,
                       const SnapshotOptions& options,
                       QString& error) {
    std::optional<std::string> kind;
    if (!parse_kind(options, kind, error)) {
        return 2;
    }
    telemetry.open(0);
    const auto run = chosen_run(telemetry, model, options, error);
    if (!run) {
        return 2;
    }
    inspector.connectWorker(&telemetry);
    inspector.setSelection(*run, options.layer, kind ? QString::fromStdString(*kind) : QString());
    for (int round = 0; round < 8; ++round) {
        QApplication::processEvents();  // the queued selections reach the worker
    }
    const auto& tensors = inspector.catalogue().tensors;
    if (tensors.empty()) {
        error = QStringLiteral("--runs: run %1 has no telemetry").arg(*run);
        return 2;
    }
    if (!options.layer.isEmpty() && tensors.count(options.layer.toStdString()) == 0) {
        QStringList layers;
        for (const auto& [name, kinds] : tensors) {
            layers << QString::fromStdString(name);
        }
        error = QStringLiteral("--layer %1: run %2 recorded no such layer (it has: %3)")
                    .arg(options.layer)
                    .arg(*run)
                    .arg(layers.join(QStringLiteral(", ")));
        return 2;
    }
    if (kind && tensors.at(inspector.layer()).count(*kind) == 0) {
        error = QStringLiteral("--kind %1: layer %2 of run %3 has no telemetry of that kind")
                    .arg(options.kind, QString::fromStdString(inspector.layer()))
                    .arg(*run);
        return 2;
    }
    return 0;
}

// The health view on the chosen run and --kind (default W), its data read synchronously.
int prepare_health(HealthView& view,
                   TelemetryWorker& telemetry,
                   CrossRunReader& reader,
                   const RunsModel& model,
                   const SnapshotOptions& options,
                   QString& error) {
    std::optional<std::string> kind;
    if (!parse_kind(options, kind, error)) {
        return 2;
    }
    telemetry.open(0);
    reader.open();
    const auto run = chosen_run(telemetry, model, options, error);
    if (!run) {
        return 2;
    }
    view.connectReaders(&telemetry, &reader);
    view.setRun(*run);
    view.setKind(QString::fromStdString(kind.value_or("weight")));
    if (!options.metric.isEmpty()) {
        const auto metric = health_metric_from_key(options.metric.toStdString());
        if (!metric) {
            QStringList keys;
            for (const HealthMetricInfo& info : health_metrics()) {
                keys << QString::fromLatin1(info.key);
            }
            error = QStringLiteral("--metric %1: unknown metric (%2)")
                        .arg(options.metric, keys.join(QStringLiteral(", ")));
            return 2;
        }
        view.setMetric(*metric);
    }
    for (int round = 0; round < 8; ++round) {
        QApplication::processEvents();  // the queued selections reach the readers
    }
    if (view.statistics().empty()) {
        error = QStringLiteral("--runs: run %1 has no telemetry").arg(*run);
        return 2;
    }
    if (view.grid().empty()) {
        error = QStringLiteral("--kind %1: run %2 recorded no statistics of that kind")
                    .arg(options.kind)
                    .arg(*run);
        return 2;
    }
    return 0;
}

}  // namespace

int render_snapshot(const SnapshotOptions& options, QString& error) {
    const QStringList built = {QStringLiteral("runs"),
                               QStringLiteral("editor"),
                               QStringLiteral("charts"),
                               QStringLiteral("histograms"),
                               QStringLiteral("compare"),
                               QStringLiteral("health"),
                               QStringLiteral("crossrun"),
                               QStringLiteral("tradeoff"),
                               QStringLiteral("qat-editor"),
                               QStringLiteral("qat-phases"),
                               QStringLiteral("qat-results")};
    if (!built.contains(options.view)) {
        error = QStringLiteral(
                    "--view %1: unknown view (runs, editor, charts, histograms, compare, health, "
                    "crossrun, tradeoff, qat-editor, qat-phases, qat-results)")
                    .arg(options.view);
        return 2;
    }
    const bool histograms = options.view == QLatin1String("histograms");
    const bool cross_run = options.view == QLatin1String("crossrun");
    const bool health = options.view == QLatin1String("health") || cross_run;
    if (!histograms && !cross_run && !options.layer.isEmpty()) {
        error = QStringLiteral("--layer applies to --view histograms and crossrun only");
        return 2;
    }
    if (!histograms && !health && !options.kind.isEmpty()) {
        error = QStringLiteral("--kind applies to --view histograms, health and crossrun only");
        return 2;
    }
    if (options.view != QLatin1String("health") && !options.metric.isEmpty()) {
        error = QStringLiteral("--metric applies to --view health only");
        return 2;
    }
    if (cross_run && options.runs.size() < 2) {
        error = QStringLiteral("--view crossrun compares runs: --runs needs two or more");
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
    std::unique_ptr<TelemetryWorker> telemetry;
    std::unique_ptr<CrossRunReader> cross_runs;
    if (health) {
        auto* health_view = new HealthView(&model);
        owner.reset(health_view);
        view = health_view;
        telemetry = std::make_unique<TelemetryWorker>(options.workspace);
        cross_runs = std::make_unique<CrossRunReader>(options.workspace);
        if (const int code =
                prepare_health(*health_view, *telemetry, *cross_runs, model, options, error)) {
            return code;
        }
        if (cross_run) {
            // The runs in --runs order, the first the reference, at its last recorded step.
            QList<qint64> ids;
            for (const QString& wanted : options.runs) {
                for (const RunRow& row : model.runs()) {
                    if (QString::number(row.record.id) == wanted ||
                        QString::fromStdString(row.record.name) == wanted) {
                        ids << row.record.id;
                        break;
                    }
                }
            }
            CrossRunView* across = health_view->crossRuns();
            across->setRuns(ids);
            across->setTensor(options.layer, QString::fromStdString(health_view->kind()));
            for (int round = 0; round < 8; ++round) {
                QApplication::processEvents();
            }
            health_view->showCrossRuns();
            if (across->overlay().bins == 0) {
                error = QStringLiteral("--view crossrun: %1").arg(across->message());
                return 2;
            }
        }
    } else if (histograms) {
        auto* inspector = new HistogramInspector(&model);
        owner.reset(inspector);
        view = inspector;
        telemetry = std::make_unique<TelemetryWorker>(options.workspace);
        if (const int code = prepare_histograms(*inspector, *telemetry, model, options, error)) {
            return code;
        }
    } else if (options.view == QLatin1String("editor")) {
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
            editor->loadRecipe(
                config::recipe_from_json(nlohmann::json::parse(shown->record.recipe_json)),
                QStringLiteral("recipe of run %1 %2")
                    .arg(shown->record.id)
                    .arg(QString::fromStdString(shown->record.name)));
        } else {
            editor->loadRecipeFile(QStringLiteral(":/lowbit/presets/pretrain/gpt2/w8a8g8.yaml"));
        }
    } else if (options.view == QLatin1String("compare")) {
        auto* compare = new CompareView(&model);
        owner.reset(compare);
        view = compare;
        compare->setWorkspace(options.workspace);
        compare->refresh();
    } else if (options.view == QLatin1String("tradeoff")) {
        auto* tradeoff = new TradeoffView;
        owner.reset(tradeoff);
        view = tradeoff;
        tradeoff->setWorkspace(options.workspace);
    } else if (options.view == QLatin1String("qat-editor")) {
        // EfficientQAT mode on the w2g64 preset, the source the first trained model (or the
        // first of --runs).
        auto* editor = new ExperimentEditor;
        owner.reset(editor);
        view = editor;
        std::vector<QatSourceModel> sources;
        const auto visible = model.visibleRuns();
        for (const RunRow& row : model.runs()) {
            const bool chosen =
                options.runs.isEmpty() ||
                std::find(visible.begin(), visible.end(), row.record.id) != visible.end();
            if (row.record.kind == "train" && chosen) {
                sources.push_back(
                    {row.record.id,
                     QString::fromStdString(row.record.name),
                     config::recipe_from_json(nlohmann::json::parse(row.record.recipe_json))});
            }
        }
        editor->loadRecipeFile(QStringLiteral(":/lowbit/presets/efficientqat/w2g64.yaml"));
        editor->setSourceModels(sources);
        if (!sources.empty()) {
            editor->setQatSource(sources.front().run_id);
        }
    } else if (options.view == QLatin1String("qat-phases")) {
        // The newest qat run, or the first of --runs.
        auto* phases = new QatPhaseView(&model);
        owner.reset(phases);
        view = phases;
        phases->setWorkspace(options.workspace);
        const auto visible = model.visibleRuns();
        for (const RunRow& row : model.runs()) {
            if (row.record.kind == "qat" && !options.runs.isEmpty() &&
                std::find(visible.begin(), visible.end(), row.record.id) != visible.end()) {
                phases->setRun(row.record.id);
                break;
            }
        }
        if (phases->data().run_id == 0) {
            error = QStringLiteral("--view qat-phases: no qat run in %1").arg(options.workspace);
            return 2;
        }
    } else if (options.view == QLatin1String("qat-results")) {
        // The table of the source of the first qat run of --runs, else the newest source.
        auto* results = new QatResultsView;
        owner.reset(results);
        view = results;
        results->setWorkspace(options.workspace);
        const auto visible = model.visibleRuns();
        for (const RunRow& row : model.runs()) {
            if (!options.runs.isEmpty() &&
                std::find(visible.begin(), visible.end(), row.record.id) != visible.end()) {
                results->setSource(row.record.kind == "qat" && row.record.parent_run_id
                                       ? *row.record.parent_run_id
                                       : row.record.id);
                break;
            }
        }
        if (results->source() == 0) {
            error = QStringLiteral("--view qat-results: no qat run in %1").arg(options.workspace);
            return 2;
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
        worker.poll();  // a fork's ancestors are known after the first read: draw its lineage
    }
    view->setAttribute(Qt::WA_DontShowOnScreen);
    view->resize(options.size);
    view->show();
    QApplication::processEvents();
    if (auto* inspector = qobject_cast<HistogramInspector*>(view)) {
        inspector->stepPlot()->replot();
        inspector->overStepsPlot()->replot();
    }
    if (auto* compare = qobject_cast<CompareView*>(view)) {
        compare->refresh();  // at its final size
        // The first run of --runs is the baseline, as in the report.
        for (const RunRow& row : model.runs()) {
            if (!options.runs.isEmpty() &&
                (QString::number(row.record.id) == options.runs.front() ||
                 QString::fromStdString(row.record.name) == options.runs.front())) {
                compare->setBaseline(row.record.id);
            }
        }
        compare->curves()->resetZoom();
        compare->curves()->plot()->replot();
        compare->groupPlot()->replot();
    }
    if (auto* tradeoff = qobject_cast<TradeoffView*>(view)) {
        tradeoff->refresh();  // at its final size
    }
    if (auto* phases = qobject_cast<QatPhaseView*>(view)) {
        phases->plot()->replot();
    }
    if (auto* health_view = qobject_cast<HealthView*>(view)) {
        health_view->heatmapPlot()->replot();
    }
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
