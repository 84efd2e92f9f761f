#include "report/run_report.h"

#include "lowbit/store/open_for_reading.h"
#include "lowbit/store/run_aggregate.h"
#include "lowbit/store/run_reader.h"

#include <QApplication>
#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QImage>
#include <QPdfWriter>
#include <QSaveFile>
#include <QStandardItemModel>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include "charts/charts_view.h"
#include "charts/qcustomplot_include.h"
#include "compare/compare_view.h"
#include "compare/config_diff.h"
#include "compare/config_diff_model.h"
#include "compare/results_model.h"
#include "compare/seed_groups_model.h"
#include "controllers/workspace_worker.h"
#include "health/cross_run_reader.h"
#include "health/health_view.h"
#include "health/worst_layers_model.h"
#include "histograms/histogram_math.h"
#include "histograms/telemetry_worker.h"
#include "models/runs_model.h"
#include "report/first_rows_proxy.h"
#include "tradeoff/tradeoff_points.h"
#include "tradeoff/tradeoff_view.h"
#include "widgets/app_palette.h"

namespace lowbit::ui {

namespace {

constexpr double kPageMarginMm = 12;
constexpr int kResolution = 96;  // device units per inch: plots are laid out as on screen
constexpr QSize kViewSize{1200, 800};
constexpr int kEventRounds = 8;  // queued reads of the health view's readers

void process_events() {
    for (int round = 0; round < kEventRounds; ++round) {
        QApplication::processEvents();
    }
}

void set_plot_title(QCustomPlot& plot, const QString& text) {
    if (plot.plotLayout()->rowCount() > 0) {
        if (auto* title = qobject_cast<QCPTextElement*>(plot.plotLayout()->element(0, 0))) {
            title->setText(text);
        }
    }
}

// A view drawn in the light theme whatever the studio's (the report is printed matter).
void make_light(QWidget& view) {
    view.setAttribute(Qt::WA_DontShowOnScreen);
    view.setPalette(studio_palette(false));
    view.resize(kViewSize);
}

QString run_label(const store::RunRecord& record) {
    return QStringLiteral("%1 (#%2)").arg(QString::fromStdString(record.name)).arg(record.id);
}

// How few bits a run's recipe uses: the lowest bit-width of any tensor kind (32 when none is
// quantized), then the sum over weights, activations and output gradients.
std::pair<int, int> bits_of(const store::RunRecord& record) {
    const RecipeColumn recipe = read_recipe_column(record.recipe_json);
    if (!recipe.recipe) {
        return {std::numeric_limits<int>::max(), std::numeric_limits<int>::max()};
    }
    int lowest = 32;
    for (TensorKind kind : {TensorKind::kWeight,
                            TensorKind::kActivation,
                            TensorKind::kGradOutput,
                            TensorKind::kOptimM,
                            TensorKind::kOptimV}) {
        lowest = std::min(lowest, kind_bits(*recipe.recipe, kind));
    }
    return {lowest,
            kind_bits(*recipe.recipe, TensorKind::kWeight) +
                kind_bits(*recipe.recipe, TensorKind::kActivation) +
                kind_bits(*recipe.recipe, TensorKind::kGradOutput)};
}

void title_page(ReportPages& pages,
                const ReportRequest& request,
                const std::vector<store::RunRecord>& runs) {
    pages.section(QObject::tr("Lowbit Studio report"));
    pages.paragraph(QObject::tr("Workspace: %1\nWritten: %2\nRuns: %3")
                        .arg(QDir::toNativeSeparators(QDir(request.workspace).absolutePath()),
                             QDateTime::currentDateTime().toString(Qt::ISODate))
                        .arg(runs.size()));
    QStandardItemModel table(0, 6);
    table.setHorizontalHeaderLabels({QObject::tr("id"),
                                     QObject::tr("name"),
                                     QObject::tr("status"),
                                     QObject::tr("group"),
                                     QObject::tr("created"),
                                     QObject::tr("recipe sha256")});
    for (const store::RunRecord& run : runs) {
        const QByteArray hash = QCryptographicHash::hash(QByteArray::fromStdString(run.recipe_json),
                                                         QCryptographicHash::Sha256)
                                    .toHex()
                                    .left(16);
        table.appendRow(
            {new QStandardItem(QString::number(run.id)),
             new QStandardItem(QString::fromStdString(run.name)),
             new QStandardItem(QString::fromLatin1(store::to_string(run.status))),
             new QStandardItem(QString::fromStdString(run.group_name)),
             new QStandardItem(QDateTime::fromSecsSinceEpoch(static_cast<qint64>(run.created_at))
                                   .toString(QStringLiteral("yyyy-MM-dd HH:mm"))),
             new QStandardItem(QString::fromLatin1(hash))});
    }
    pages.table(table);
    pages.paragraph(QObject::tr(
        "Recipe sha256: the first 16 hex digits of the SHA-256 of the recipe as stored with the "
        "run (the same digits mean the same recipe)."));
}

void compare_sections(ReportPages& pages, CompareView& compare) {
    pages.section(QObject::tr("Loss curves by configuration"));
    pages.paragraph(
        QObject::tr(
            "Runs that differ only in their seed form one group: its mean (line) and min-max band, "
            "its members faint beneath, smoothed with the debiased EMA of weight %1.")
            .arg(ChartsView::kDefaultSmoothing));
    std::set<QString> keys;
    for (const CompareRun& run : compare.comparedRuns()) {
        for (const auto& key : {QStringLiteral("train/loss"), QStringLiteral("val/loss")}) {
            if (run.results.final.count(key.toStdString()) > 0) {
                keys.insert(key);
            }
        }
    }
    bool first = true;
    for (const QString& key : {QStringLiteral("train/loss"), QStringLiteral("val/loss")}) {
        if (keys.count(key) == 0) {
            continue;
        }
        compare.setKey(key);
        if (!first) {
            pages.newPage();
        }
        first = false;
        pages.heading(key);
        pages.plot(*compare.groupPlot(), pages.remaining() - 24);
    }
    if (keys.empty()) {
        pages.paragraph(QObject::tr("None of the runs recorded train/loss or val/loss."));
    }
    pages.section(QObject::tr("Seed groups"));
    pages.table(*compare.seedGroups());

    pages.section(QObject::tr("Config diff"));
    if (compare.configDiff()->rowCount() == 0) {
        pages.paragraph(QObject::tr("The recipes do not differ (seeds and names aside)."));
    } else {
        pages.paragraph(
            QObject::tr("Only the recipe keys whose values differ; the baseline in "
                        "bold."));
        pages.table(*compare.configDiff());
    }

    pages.section(QObject::tr("Results"));
    pages.paragraph(QObject::tr(
        "Final and best losses of each run and their difference (Δ) to the baseline, the first "
        "row; green is better than the baseline, red worse."));
    pages.table(*compare.results());
}

// The health pages of one run; false when it recorded no statistics.
bool health_sections(ReportPages& pages, HealthView& health, const store::RunRecord& run) {
    health.setRun(run.id);
    process_events();
    if (health.statistics().empty()) {
        return false;
    }
    std::set<std::string> recorded;
    for (const store::TensorStatsRecord& row : health.statistics()) {
        recorded.insert(row.tensor_kind);
    }
    pages.section(QObject::tr("Quantization health: %1").arg(run_label(run)));
    for (const std::string& kind : tensor_kinds()) {
        if (recorded.count(kind) == 0) {
            continue;
        }
        health.setKind(QString::fromStdString(kind));
        for (HealthMetric metric : {HealthMetric::kUnderflow, HealthMetric::kSqnr}) {
            health.setMetric(metric);
            // A kind the run keeps in full precision has statistics but no quantizer: its
            // metrics are undefined everywhere, and an empty heatmap says nothing.
            const HealthGrid& grid = health.grid();
            const bool defined =
                std::any_of(grid.values.begin(), grid.values.end(), [](const auto& row) {
                    return std::any_of(
                        row.begin(), row.end(), [](double v) { return std::isfinite(v); });
                });
            if (grid.empty() || !defined) {
                continue;
            }
            const QString name = QString::fromUtf8(health_metric_info(metric).name);
            set_plot_title(*health.heatmapPlot(),
                           QObject::tr("%1 of %2 (%3) by layer and step")
                               .arg(name,
                                    QString::fromStdString(tensor_kind_short(kind)),
                                    QString::fromStdString(kind)));
            const double rows = static_cast<double>(health.grid().layers.size());
            pages.plot(*health.heatmapPlot(), std::clamp(rows * 12 + 90, 240.0, 640.0));
        }
    }
    health.setMetric(HealthMetric::kSqnr);
    const int total = health.worstLayersSorted()->rowCount();
    pages.heading(QObject::tr("Worst layers by SQNR (the %1 worst of %2 tensors)")
                      .arg(std::min(total, kReportWorstLayers))
                      .arg(total));
    FirstRowsProxy worst(kReportWorstLayers);
    worst.setSourceModel(health.worstLayersSorted());
    pages.table(worst);
    return true;
}

void tradeoff_section(ReportPages& pages,
                      TradeoffView& tradeoff,
                      const store::RunReader& reader,
                      const std::vector<int64_t>& ids) {
    pages.section(QObject::tr("Trade-off"));
    TradeoffRuns all = read_tradeoff_runs(reader);
    TradeoffRuns chosen;
    auto wanted = [&ids](int64_t id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); };
    std::copy_if(all.runs.begin(),
                 all.runs.end(),
                 std::back_inserter(chosen.runs),
                 [&](const TradeoffRun& run) { return wanted(run.run_id); });
    std::copy_if(all.skipped.begin(),
                 all.skipped.end(),
                 std::back_inserter(chosen.skipped),
                 [&](const SkippedRun& run) { return wanted(run.run_id); });
    pages.paragraph(QObject::tr(
        "Final validation loss against effective weight bits per parameter, coloured by the "
        "weights' bit-width; the step line is the Pareto front (no other run is both cheaper and "
        "better)."));
    tradeoff.setRuns(chosen);
    QStringList skipped;
    for (const SkippedRun& run : chosen.skipped) {
        skipped << QStringLiteral("%1 (#%2): %3")
                       .arg(QString::fromStdString(run.name))
                       .arg(run.run_id)
                       .arg(QString::fromStdString(run.reason));
    }
    pages.plot(*tradeoff.plot(), pages.remaining() - (skipped.isEmpty() ? 0 : 60));
    if (!skipped.isEmpty()) {
        pages.paragraph(QObject::tr("Left out: %1").arg(skipped.join(QStringLiteral("; "))));
    }
}

// Draws every page through `painter`, which `next_page` moves to a new page.
ReportOutline draw_report(QCPPainter& painter,
                          const QRectF& area,
                          const std::function<bool()>& next_page,
                          const ReportRequest& request,
                          const std::vector<store::RunRecord>& runs,
                          const store::RunReader& reader) {
    ReportPages pages(painter, area, next_page);
    ReportOutline outline;
    for (const store::RunRecord& run : runs) {
        outline.runs.push_back(run.id);
    }
    title_page(pages, request, runs);

    RunsModel model;
    WorkspaceWorker worker(request.workspace);
    QObject::connect(&worker, &WorkspaceWorker::runsRead, &model, &RunsModel::setRuns);
    worker.open(0);
    for (const RunRow& row : model.runs()) {
        model.setVisible(row.record.id,
                         std::find(outline.runs.begin(), outline.runs.end(), row.record.id) !=
                             outline.runs.end());
    }

    CompareView compare(&model);
    make_light(compare);
    compare.applyTheme();
    compare.setWorkspace(request.workspace);
    compare.refresh();
    // The first run asked for is the baseline: the user's order says what is compared with what.
    if (!outline.runs.empty()) {
        compare.setBaseline(outline.runs.front());
    }
    compare_sections(pages, compare);

    HealthView health(&model);
    make_light(health);
    health.applyTheme();
    TelemetryWorker telemetry(request.workspace);
    CrossRunReader cross_runs(request.workspace);
    telemetry.open(0);
    cross_runs.open();
    health.connectReaders(&telemetry, &cross_runs);
    for (int64_t id : runs_by_bits(runs)) {
        if (static_cast<int>(outline.health_runs.size()) >= kReportHealthRuns) {
            break;
        }
        const auto run = std::find_if(
            runs.begin(), runs.end(), [id](const store::RunRecord& r) { return r.id == id; });
        if (health_sections(pages, health, *run)) {
            outline.health_runs.push_back(id);
        }
    }
    if (outline.health_runs.empty()) {
        pages.section(QObject::tr("Quantization health"));
        pages.paragraph(QObject::tr("None of the runs recorded telemetry."));
    }

    TradeoffView tradeoff;
    make_light(tradeoff);
    tradeoff.applyTheme();
    tradeoff_section(pages, tradeoff, reader, outline.runs);

    outline.pages = pages.pages();
    outline.sections = pages.sections();
    return outline;
}

QRectF printable_area(const QPageLayout& layout) {
    const QRect full = layout.fullRectPixels(kResolution);
    const double margin = kPageMarginMm / 25.4 * kResolution;
    return QRectF(full).adjusted(margin, margin, -margin, -margin);
}

QPageLayout report_layout() {
    return QPageLayout(QPageSize(QPageSize::A4), QPageLayout::Landscape, QMarginsF());
}

// The same pages as PNGs in `dir` (page-01.png, ...).
QString draw_page_images(const ReportRequest& request,
                         const std::vector<store::RunRecord>& runs,
                         const store::RunReader& reader) {
    if (!QDir().mkpath(request.page_images)) {
        return QObject::tr("%1: cannot create the folder").arg(request.page_images);
    }
    const QPageLayout layout = report_layout();
    const QRect full = layout.fullRectPixels(kResolution);
    QImage image(full.size(), QImage::Format_RGB32);
    image.setDotsPerMeterX(qRound(kResolution / 0.0254));
    image.setDotsPerMeterY(qRound(kResolution / 0.0254));
    image.fill(Qt::white);
    int page = 1;
    QString failure;
    QCPPainter painter(&image);
    auto save = [&] {
        const QString path =
            QDir(request.page_images)
                .filePath(QStringLiteral("page-%1.png").arg(page, 2, 10, QLatin1Char('0')));
        if (!image.save(path, "PNG") && failure.isEmpty()) {
            failure = QObject::tr("%1: cannot write the PNG").arg(path);
        }
    };
    draw_report(
        painter,
        printable_area(layout),
        [&] {
            painter.end();
            save();
            ++page;
            image.fill(Qt::white);
            return painter.begin(&image);
        },
        request,
        runs,
        reader);
    painter.end();
    save();
    return failure;
}

}  // namespace

std::vector<int64_t> runs_by_bits(const std::vector<store::RunRecord>& runs) {
    // One run per configuration (its oldest: the first seed of a sweep), seeds of one recipe
    // showing the same quantizers.
    std::map<std::string, const store::RunRecord*> first_of;
    for (const store::RunRecord& run : runs) {
        const store::RunRecord*& first = first_of[store::configuration_key(run)];
        if (first == nullptr || run.created_at < first->created_at ||
            (run.created_at == first->created_at && run.id < first->id)) {
            first = &run;
        }
    }
    std::vector<std::tuple<std::pair<int, int>, int64_t>> order;
    for (const auto& [key, run] : first_of) {
        order.emplace_back(bits_of(*run), run->id);
    }
    std::sort(order.begin(), order.end());
    std::vector<int64_t> ids;
    for (const auto& [bits, id] : order) {
        ids.push_back(id);
    }
    return ids;
}

int write_report(const ReportRequest& request, QString& error, ReportOutline* outline) {
    if (request.runs.isEmpty()) {
        error = QObject::tr("--report needs --runs A,B,... (run ids or names)");
        return 2;
    }
    std::optional<store::Workspace> workspace;
    std::vector<store::RunRecord> runs;
    try {
        workspace.emplace(store::open_for_reading(request.workspace.toStdString()));
        const store::RunReader reader(*workspace);
        for (const QString& wanted : request.runs) {
            const auto run = reader.find_run(wanted.toStdString());
            if (!run) {
                error = QObject::tr("--runs: no run %1 in %2").arg(wanted, request.workspace);
                return 2;
            }
            if (std::none_of(runs.begin(), runs.end(), [&run](const store::RunRecord& r) {
                    return r.id == run->id;
                })) {
                runs.push_back(*run);
            }
        }
    } catch (const std::exception& failure) {
        error = QString::fromStdString(failure.what());
        return 2;
    }
    const store::RunReader reader(*workspace);

    // The PDF goes to a temporary file beside OUT that replaces it only when complete.
    QSaveFile file(request.out);
    if (!file.open(QIODevice::WriteOnly)) {
        error = QObject::tr("%1: cannot write the report (%2)")
                    .arg(QDir::toNativeSeparators(request.out), file.errorString());
        return 2;
    }
    ReportOutline drawn;
    {
        QPdfWriter writer(&file);
        writer.setResolution(kResolution);
        writer.setPageLayout(report_layout());
        writer.setTitle(QObject::tr("Lowbit Studio report"));
        writer.setCreator(QStringLiteral("lowbit-studio"));
        QCPPainter painter;
        if (!painter.begin(&writer)) {
            file.cancelWriting();
            error = QObject::tr("%1: the PDF could not be started").arg(request.out);
            return 1;
        }
        painter.setMode(QCPPainter::pmVectorized);
        drawn = draw_report(
            painter,
            printable_area(writer.pageLayout()),
            [&writer] { return writer.newPage(); },
            request,
            runs,
            reader);
        painter.end();
    }
    if (!file.commit()) {
        error = QObject::tr("%1: cannot write the report (%2)")
                    .arg(QDir::toNativeSeparators(request.out), file.errorString());
        return 2;
    }
    if (!request.page_images.isEmpty()) {
        error = draw_page_images(request, runs, reader);
        if (!error.isEmpty()) {
            return 1;
        }
    }
    if (outline != nullptr) {
        *outline = std::move(drawn);
    }
    return 0;
}

}  // namespace lowbit::ui
