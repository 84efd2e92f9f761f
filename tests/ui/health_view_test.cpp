// The quantization health view and the cross-run histograms against workspaces written here
// through RunWriter: the heatmap's cells are the stored statistics (read back with SQL, each
// metric by its definition in docs/studio.md §Quantization health), the worst-layers table
// matches SQL and a hand-worked dip, clicks open the histogram inspector at the chosen step, a
// live run's new step appears, the difference heatmap is the hand-computed count difference,
// common bins keep counts (a hand-worked rebinning), matching by tokens picks the nearest step
// (hand-worked), and runs without telemetry or unknown layers give messages.
#include "health/health_view.h"

#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <QAbstractItemModelTester>
#include <QLabel>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>
#include <sqlite3.h>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "charts/qcustomplot_include.h"
#include "health/cross_run_histograms.h"
#include "health/cross_run_reader.h"
#include "health/cross_run_view.h"
#include "health/worst_layers_model.h"
#include "histograms/histogram_inspector.h"
#include "histograms/telemetry_worker.h"

using namespace lowbit;
using namespace lowbit::ui;

namespace {

const char* const kInt8 =
    R"({"bits":8,"granularity":"per_channel","group_size":128,"symmetric":true,)"
    R"("grid":"reference","rounding":"nearest","min_range":1e-05})";

// Written in this order on purpose: the view must put them in model order.
const std::vector<std::string> kLayers = {
    "blocks.10.mlp.fc", "blocks.2.attn.qkv", "lm_head", "blocks.2.attn.proj"};
const std::vector<int64_t> kSteps = {10, 20, 30};

// Statistics of layer kLayers[li] at `step`: simple formulas, so every metric differs between
// cells. lm_head's weight stays in full precision (no quantizer metrics); blocks.2.attn.proj
// dips by 10 dB at step 20, so its worst SQNR is not its latest.
store::TensorStatsRecord statsRow(int64_t run, size_t li, int64_t step, const std::string& kind) {
    const double nan = std::nan("");
    const double i = static_cast<double>(li);
    const double s = static_cast<double>(step);
    store::TensorStatsRecord r;
    r.run_id = run;
    r.step = step;
    r.layer = kLayers[li];
    r.tensor_kind = kind;
    r.n = 1000;
    r.min = -1 - i;
    r.max = 2 + s / 10;
    r.sum = 10;
    r.sumsq = 400;
    r.absmax_over_sigma = 3 + i + s / 100;
    r.kurtosis = 3 + 0.5 * i * s / 10;
    if (r.layer == "lm_head" && kind == "weight") {
        r.sqnr_db = r.mse = r.clip_fraction = r.underflow_fraction = nan;
        r.scale_min = r.scale_max = nan;
        return r;
    }
    r.quantizer = kInt8;
    r.qn = -127;
    r.qp = 127;
    r.sqnr_db = 30 - s / 10 - 2 * i - (kind == "activation" ? 5 : 0) -
                (r.layer == "blocks.2.attn.proj" && step == 20 ? 10 : 0);
    r.mse = 0.001 * (i + 1) * s;
    r.clip_fraction = 0.001 * i + s * 1e-4;
    r.underflow_fraction = 0.01 * (i + 1) / (s / 10);
    r.scale_min = 0.01 * (i + 1);
    r.scale_max = r.scale_min * (1 + s / 10);
    return r;
}

void writeStep(store::RunWriter& writer, int64_t run, int64_t step) {
    for (size_t li = 0; li < kLayers.size(); ++li) {
        for (const char* kind : {"weight", "activation"}) {
            // One missing cell: blocks.10.mlp.fc recorded no weight at step 20.
            if (li == 0 && step == 20 && std::string(kind) == "weight") {
                continue;
            }
            writer.add_tensor_stats(statsRow(run, li, step, kind));
        }
    }
}

int64_t newRun(store::RunWriter& writer, const char* name) {
    store::RunRecord record;
    record.name = name;
    record.kind = "train";
    record.recipe_json = "{}";
    return writer.create_run(record);
}

// Rows of an SQL query over the workspace database; NULL comes back as NaN, text as a QString.
std::vector<std::vector<QVariant>> query(const QString& root, const std::string& sql) {
    sqlite3* db = nullptr;
    const std::string file = (root + QStringLiteral("/runs.sqlite")).toStdString();
    sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* stmt = nullptr;
    std::vector<std::vector<QVariant>> rows;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            std::vector<QVariant> row;
            for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
                switch (sqlite3_column_type(stmt, c)) {
                    case SQLITE_NULL:
                        row.emplace_back(std::nan(""));
                        break;
                    case SQLITE_TEXT:
                        row.emplace_back(QString::fromUtf8(
                            reinterpret_cast<const char*>(sqlite3_column_text(stmt, c))));
                        break;
                    default:
                        row.emplace_back(sqlite3_column_double(stmt, c));
                }
            }
            rows.push_back(std::move(row));
        }
    } else {
        qWarning("SQL error: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rows;
}

double queryValue(const QString& root, const std::string& sql) {
    const auto rows = query(root, sql);
    return rows.empty() ? std::nan("") : rows.front().front().toDouble();
}

bool sameNumber(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) {
        return std::isnan(a) && std::isnan(b);
    }
    return std::abs(a - b) <= 1e-12 * std::max(1.0, std::abs(b));
}

// Each metric as SQL over a statistics row, from its definition (docs/studio.md §Quantization
// health), not from the view's table.
struct MetricSql {
    HealthMetric metric;
    const char* expression;
};

const MetricSql kMetricSql[] = {
    {HealthMetric::kSqnr, "sqnr_db"},
    {HealthMetric::kMse, "mse"},
    {HealthMetric::kClip, "100.0 * clip_fraction"},
    {HealthMetric::kUnderflow, "100.0 * underflow_fraction"},
    {HealthMetric::kScaleRange, "scale_max / scale_min"},
    {HealthMetric::kDynamicRange, "max - min"},
    {HealthMetric::kAbsmaxOverSigma, "absmax_over_sigma"},
    {HealthMetric::kKurtosis, "kurtosis"},
};

// The view and its readers in this thread, everything read synchronously.
struct Shown {
    explicit Shown(const QString& root) : worker(root), reader(root), view(nullptr) {
        worker.open(0);
        reader.open();
        view.connectReaders(&worker, &reader);
        view.resize(1200, 800);
    }

    void settle() {
        for (int i = 0; i < 8; ++i) {
            QCoreApplication::processEvents();
        }
    }

    TelemetryWorker worker;
    CrossRunReader reader;
    HealthView view;
};

// A cross-run view and its reader in this thread.
struct Compared {
    explicit Compared(const QString& root) : reader(root), view(nullptr) {
        reader.open();
        view.connectReader(&reader);
        view.resize(1200, 800);
    }

    void settle() {
        for (int i = 0; i < 8; ++i) {
            QCoreApplication::processEvents();
        }
    }

    CrossRunReader reader;
    CrossRunView view;
};

store::HistogramRecord uniformRow(
    int64_t run, int64_t step, double lo, double hi, std::vector<int64_t> counts) {
    return {
        0, run, step, "blocks.0.attn.qkv", "weight", "uniform", lo, hi, std::move(counts), 0, 0};
}

void addTokens(store::RunWriter& writer, int64_t run, int64_t step, int64_t tokens) {
    writer.add_scalar({0, run, "tokens", step, tokens, 0, static_cast<double>(tokens)});
}

std::vector<double> graphValues(QCPGraph* graph) {
    std::vector<double> values;
    for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it) {
        values.push_back(it->value);
    }
    return values;
}

}  // namespace

class HealthViewTest : public QObject {
    Q_OBJECT

private Q_SLOTS:

    void init() {
        QVERIFY(dir_.isValid());
        root_ = dir_.path() + QStringLiteral("/ws-") + QString::number(++count_);
    }

    void heatmapCellsAreTheStoredStatistics() {
        int64_t run = 0;
        {
            auto ws = store::Workspace::open(root_.toStdString());
            store::RunWriter writer(ws);
            run = newRun(writer, "w8");
            for (int64_t step : kSteps) {
                writeStep(writer, run, step);
            }
        }
        Shown shown(root_);
        shown.view.setRun(run);
        shown.settle();
        QVERIFY(shown.view.message().isEmpty());
        for (const char* kind : {"weight", "activation"}) {
            shown.view.setKind(QString::fromLatin1(kind));
            const auto steps = query(
                root_,
                "SELECT DISTINCT step FROM tensor_stats WHERE run_id = " + std::to_string(run) +
                    " AND tensor_kind = '" + kind + "' ORDER BY step");
            for (const auto& [metric, expression] : kMetricSql) {
                shown.view.setMetric(metric);
                const HealthGrid& grid = shown.view.grid();
                // Model order, worked by hand: block 2 before block 10, lm_head last.
                QCOMPARE(
                    grid.layers,
                    (std::vector<std::string>{
                        "blocks.2.attn.proj", "blocks.2.attn.qkv", "blocks.10.mlp.fc", "lm_head"}));
                QCOMPARE(grid.steps.size(), steps.size());
                QCPColorMap* map = shown.view.heatmap();
                QVERIFY(map != nullptr);
                QCOMPARE(map->data()->keySize(), static_cast<int>(steps.size()));
                QCOMPARE(map->data()->valueSize(), 4);
                // The y axis names the layers top to bottom.
                auto ticker =
                    shown.view.heatmapPlot()->yAxis->ticker().dynamicCast<QCPAxisTickerText>();
                QVERIFY(ticker);
                QCOMPARE(ticker->ticks().value(2), QStringLiteral("blocks.10.mlp.fc"));
                QVERIFY(shown.view.heatmapPlot()->yAxis->rangeReversed());
                for (size_t i = 0; i < steps.size(); ++i) {
                    const auto step = static_cast<int64_t>(steps[i][0].toDouble());
                    QCOMPARE(grid.steps[i], step);
                    for (size_t k = 0; k < grid.layers.size(); ++k) {
                        const double expected = queryValue(
                            root_,
                            std::string("SELECT ") + expression +
                                " FROM tensor_stats WHERE run_id = " + std::to_string(run) +
                                " AND tensor_kind = '" + kind + "' AND layer = '" + grid.layers[k] +
                                "' AND step = " + std::to_string(step));
                        const double cell =
                            map->data()->cell(static_cast<int>(i), static_cast<int>(k));
                        QVERIFY2(
                            sameNumber(cell, expected),
                            qPrintable(QStringLiteral("%1 %2 %3 step %4: cell %5, SQL %6")
                                           .arg(QString::fromStdString(health_metric_label(metric)))
                                           .arg(QString::fromLatin1(kind))
                                           .arg(QString::fromStdString(grid.layers[k]))
                                           .arg(step)
                                           .arg(cell)
                                           .arg(expected)));
                    }
                }
            }
        }
        // The missing weight cell (blocks.10.mlp.fc at step 20) and lm_head's unquantized SQNR
        // are empty cells.
        shown.view.setKind(QStringLiteral("W"));
        shown.view.setMetric(HealthMetric::kSqnr);
        QVERIFY(std::isnan(shown.view.heatmap()->data()->cell(1, 2)));
        QVERIFY(std::isnan(shown.view.heatmap()->data()->cell(0, 3)));
        QVERIFY(!std::isnan(shown.view.heatmap()->data()->cell(0, 2)));
        // The colour bar says the unit.
        QCOMPARE(shown.view.colourScale()->axis()->label(), QStringLiteral("SQNR (dB)"));
        shown.view.setMetric(HealthMetric::kClip);
        QCOMPARE(shown.view.colourScale()->axis()->label(), QStringLiteral("clipped (%)"));
    }

    void worstLayersTableMatchesSql() {
        int64_t run = 0;
        {
            auto ws = store::Workspace::open(root_.toStdString());
            store::RunWriter writer(ws);
            run = newRun(writer, "w8");
            for (int64_t step : kSteps) {
                writeStep(writer, run, step);
            }
        }
        Shown shown(root_);
        QAbstractItemModelTester model_tester(
            shown.view.worstLayers(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester proxy_tester(
            shown.view.worstLayersSorted(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        shown.view.setRun(run);
        shown.settle();
        const std::string run_text = std::to_string(run);
        // SQNR: lower is worse, so the worst is the minimum; MSE: the maximum.
        for (const auto& [metric, aggregate, column] :
             {std::tuple{HealthMetric::kSqnr, "MIN", "sqnr_db"},
              std::tuple{HealthMetric::kMse, "MAX", "mse"}}) {
            shown.view.setMetric(metric);
            WorstLayersModel* model = shown.view.worstLayers();
            // Per tensor: its last step, the worst value, the value at the last step, and the
            // first step with the worst value.
            const std::string col = column;
            const auto expected = query(
                root_,
                "SELECT g.layer, g.kind, g.last_step, g.worst, "
                "(SELECT l." +
                    col + " FROM tensor_stats l WHERE l.run_id = " + run_text +
                    " AND l.layer = g.layer AND l.tensor_kind = g.kind ORDER BY l.step DESC "
                    "LIMIT 1), "
                    "(SELECT MIN(w.step) FROM tensor_stats w WHERE w.run_id = " +
                    run_text + " AND w.layer = g.layer AND w.tensor_kind = g.kind AND w." + col +
                    " = g.worst) "
                    "FROM (SELECT layer, tensor_kind AS kind, MAX(step) AS last_step, " +
                    aggregate + "(" + col + ") AS worst FROM tensor_stats WHERE run_id = " +
                    run_text + " GROUP BY layer, tensor_kind) g");
            QCOMPARE(model->rowCount(), static_cast<int>(expected.size()));  // 4 layers × 2
            QCOMPARE(model->rowCount(), 8);
            for (const auto& row : expected) {
                bool found = false;
                for (int r = 0; r < model->rowCount(); ++r) {
                    const WorstLayerRow& shown_row = model->rows()[static_cast<size_t>(r)];
                    if (QString::fromStdString(shown_row.layer) != row[0].toString() ||
                        QString::fromStdString(shown_row.kind) != row[1].toString()) {
                        continue;
                    }
                    found = true;
                    QCOMPARE(static_cast<double>(shown_row.latest_step), row[2].toDouble());
                    QVERIFY(sameNumber(shown_row.worst, row[3].toDouble()));
                    QVERIFY(sameNumber(shown_row.latest, row[4].toDouble()));
                    if (!std::isnan(row[3].toDouble())) {
                        QCOMPARE(static_cast<double>(shown_row.worst_step), row[5].toDouble());
                    }
                    // The model's sort values are the same numbers.
                    QVERIFY(sameNumber(model->index(r, WorstLayersModel::kWorst)
                                           .data(WorstLayersModel::kSortRole)
                                           .toDouble(),
                                       row[3].toDouble()));
                }
                QVERIFY2(found, qPrintable(row[0].toString()));
            }
        }
        // With MSE (higher is worse) the table is still worst first: blocks.2.attn.proj (i = 3)
        // at step 30, 0.001 · 4 · 30 = 0.12 by hand.
        QCOMPARE(shown.view.metric(), HealthMetric::kMse);
        QVERIFY(std::abs(shown.view.worstLayersSorted()
                             ->index(0, WorstLayersModel::kWorst)
                             .data(WorstLayersModel::kSortRole)
                             .toDouble() -
                         0.12) < 1e-12);
        // Worked by hand (statsRow): blocks.2.attn.proj (written 4th, i = 3) weight SQNR is
        // 30 − 1 − 6 = 23 at step 10, 30 − 2 − 6 − 10 = 12 at step 20 (the dip), 30 − 3 − 6 = 21
        // at step 30: worst 12 at step 20, latest 21.
        shown.view.setMetric(HealthMetric::kSqnr);
        const auto& rows = shown.view.worstLayers()->rows();
        QCOMPARE(rows.front().layer, std::string("blocks.2.attn.proj"));  // model order
        QCOMPARE(rows.front().kind, std::string("weight"));
        QCOMPARE(rows.front().worst, 12.0);
        QCOMPARE(rows.front().worst_step, int64_t{20});
        QCOMPARE(rows.front().latest, 21.0);
        QCOMPARE(rows.front().latest_step, int64_t{30});
        // Sorted worst first (ascending SQNR): its activation dips to 12 − 5 = 7; lm_head's
        // weight, with no SQNR, sorts last both ways.
        WorstLayersProxy* sorted = shown.view.worstLayersSorted();
        QCOMPARE(sorted->index(0, WorstLayersModel::kWorst).data().toString(), QStringLiteral("7"));
        QCOMPARE(sorted->index(0, WorstLayersModel::kKind).data().toString(), QStringLiteral("A"));
        const int last = sorted->rowCount() - 1;
        QCOMPARE(sorted->index(last, WorstLayersModel::kLayer).data().toString(),
                 QStringLiteral("lm_head"));
        QCOMPARE(sorted->index(last, WorstLayersModel::kKind).data().toString(),
                 QStringLiteral("W"));
        sorted->sort(WorstLayersModel::kWorst, Qt::DescendingOrder);
        QCOMPARE(sorted->index(last, WorstLayersModel::kLayer).data().toString(),
                 QStringLiteral("lm_head"));
        QCOMPARE(sorted->index(last, WorstLayersModel::kKind).data().toString(),
                 QStringLiteral("W"));
        // Descending, the best worst first, by hand: blocks.10.mlp.fc (i = 0) weight, 29 at
        // step 10 and 30 − 3 = 27 at step 30 (step 20 missing): worst 27, also its latest.
        QCOMPARE(sorted->index(0, WorstLayersModel::kLatest).data(WorstLayersModel::kSortRole),
                 QVariant(27.0));
        QCOMPARE(sorted->index(0, WorstLayersModel::kWorst).data(WorstLayersModel::kSortRole),
                 QVariant(27.0));
    }

    void clicksOpenTheInspectorAtThatStep() {
        int64_t run = 0;
        {
            auto ws = store::Workspace::open(root_.toStdString());
            store::RunWriter writer(ws);
            run = newRun(writer, "w8");
            for (int64_t step : kSteps) {
                writeStep(writer, run, step);
            }
        }
        Shown shown(root_);
        TelemetryWorker inspector_worker(root_);
        inspector_worker.open(0);
        HistogramInspector inspector(nullptr);
        inspector.connectWorker(&inspector_worker);
        connect(&shown.view, &HealthView::tensorChosen, &inspector, &HistogramInspector::showStep);
        QSignalSpy chosen(&shown.view, &HealthView::tensorChosen);
        shown.view.setRun(run);
        shown.settle();
        // Cell (layer 1, step index 1): blocks.2.attn.qkv at step 20.
        shown.view.chooseCell(1, 1);
        QCOMPARE(chosen.count(), 1);
        QCOMPARE(chosen.last().at(0).toLongLong(), run);
        QCOMPARE(chosen.last().at(1).toString(), QStringLiteral("blocks.2.attn.qkv"));
        QCOMPARE(chosen.last().at(2).toString(), QStringLiteral("weight"));
        QCOMPARE(chosen.last().at(3).toLongLong(), 20);
        shown.settle();
        QCOMPARE(inspector.layer(), std::string("blocks.2.attn.qkv"));
        QCOMPARE(inspector.currentStep().value_or(-1), 20);  // not the latest, 30
        // The worst row (blocks.2.attn.proj A, 7 dB at step 20, worked out above), clicked on
        // its worst value: step 20; on its name: the latest step, 30.
        shown.view.chooseTableRow(0, WorstLayersModel::kWorst);
        QCOMPARE(chosen.last().at(1).toString(), QStringLiteral("blocks.2.attn.proj"));
        QCOMPARE(chosen.last().at(2).toString(), QStringLiteral("activation"));
        QCOMPARE(chosen.last().at(3).toLongLong(), 20);
        shown.settle();
        QCOMPARE(inspector.kind(), std::string("activation"));
        QCOMPARE(inspector.currentStep().value_or(-1), 20);
        shown.view.chooseTableRow(0, WorstLayersModel::kLayer);
        QCOMPARE(chosen.last().at(3).toLongLong(), 30);
        // Outside the grid: nothing.
        shown.view.chooseCell(9, 0);
        QCOMPARE(chosen.count(), 3);
    }

    void liveRunGainsAColumn() {
        auto ws = store::Workspace::open(root_.toStdString());
        int64_t run = 0;
        {
            store::RunWriter writer(ws);
            run = newRun(writer, "live");
            writeStep(writer, run, 10);
            writeStep(writer, run, 20);
        }
        Shown shown(root_);
        shown.view.setRun(run);
        shown.settle();
        QCOMPARE(shown.view.grid().steps, (std::vector<int64_t>{10, 20}));
        {
            store::RunWriter writer(ws);
            writeStep(writer, run, 30);
        }
        shown.worker.poll();
        shown.settle();
        QCOMPARE(shown.view.grid().steps, (std::vector<int64_t>{10, 20, 30}));
        // The new column holds step 30's values: blocks.2.attn.qkv (i = 1) weight SQNR
        // 30 − 3 − 2 = 25, by hand, and by SQL.
        QCOMPARE(shown.view.heatmap()->data()->cell(2, 1), 25.0);
        QCOMPARE(queryValue(root_,
                            "SELECT sqnr_db FROM tensor_stats WHERE layer = 'blocks.2.attn.qkv' "
                            "AND tensor_kind = 'weight' AND step = 30"),
                 25.0);
        QCOMPARE(shown.view.statistics().size(), size_t{4 * 2 * 3 - 1});
    }

    void threadedReadersFollowAppendedRows() {
        // openWorkspace(): the readers poll in the view's thread; this thread only receives.
        auto ws = store::Workspace::open(root_.toStdString());
        int64_t run = 0;
        {
            store::RunWriter writer(ws);
            run = newRun(writer, "threaded");
            writeStep(writer, run, 10);
        }
        HealthView view(nullptr);
        view.openWorkspace(root_);
        view.setRun(run);
        QTRY_COMPARE_WITH_TIMEOUT(view.grid().steps.size(), size_t{1}, 10000);
        {
            store::RunWriter writer(ws);
            writeStep(writer, run, 20);
        }
        QTRY_COMPARE_WITH_TIMEOUT(view.grid().steps.size(), size_t{2}, 10000);
    }

    void missingTelemetryGivesMessages() {
        int64_t bare = 0, with = 0;
        {
            auto ws = store::Workspace::open(root_.toStdString());
            store::RunWriter writer(ws);
            bare = newRun(writer, "no-telemetry");
            with = newRun(writer, "w8");
            writeStep(writer, with, 10);
        }
        Shown shown(root_);
        shown.view.setRun(bare);
        shown.settle();
        QVERIFY2(shown.view.message().contains(QStringLiteral("no quantization statistics")),
                 qPrintable(shown.view.message()));
        QVERIFY(shown.view.heatmap() == nullptr);
        QCOMPARE(shown.view.worstLayers()->rowCount(), 0);
        shown.view.chooseCell(0, 0);  // nothing to choose, no crash
        // A kind the run did not record.
        shown.view.setRun(with);
        shown.settle();
        shown.view.setKind(QStringLiteral("m"));
        QVERIFY2(shown.view.message().contains(QStringLiteral("no optim_m statistics")),
                 qPrintable(shown.view.message()));
        shown.view.setKind(QStringLiteral("X"));
        QVERIFY(shown.view.message().contains(QStringLiteral("Unknown tensor kind X")));
        // A kind kept in full precision: statistics without a quantizer, so every SQNR cell is
        // undefined; the message says so and names the kinds the run quantizes.
        int64_t activations_only = 0;
        {
            auto ws = store::Workspace::open(root_.toStdString());
            store::RunWriter writer(ws);
            activations_only = newRun(writer, "a8");
            for (size_t li = 0; li < kLayers.size(); ++li) {
                store::TensorStatsRecord w = statsRow(activations_only, li, 10, "weight");
                w.quantizer.reset();
                w.sqnr_db = w.mse = w.clip_fraction = w.underflow_fraction = std::nan("");
                writer.add_tensor_stats(w);
                writer.add_tensor_stats(statsRow(activations_only, li, 10, "activation"));
            }
        }
        shown.view.setRun(activations_only);
        shown.view.setKind(QStringLiteral("W"));
        shown.settle();
        QVERIFY2(shown.view.message().contains(
                     QStringLiteral("keeps weight in full precision, so its quantization metrics "
                                    "are undefined; it quantizes A (activation)")),
                 qPrintable(shown.view.message()));
        shown.view.setKind(QStringLiteral("A"));
        QCOMPARE(shown.view.message(), QString());
        // An unknown layer across runs.
        Compared compared(root_);
        compared.view.setRuns({with, bare});
        compared.view.setTensor(QStringLiteral("blocks.9.nope"), QStringLiteral("W"));
        compared.settle();
        QVERIFY2(compared.view.message().contains(
                     QStringLiteral("#%1 recorded no histograms of blocks.9.nope").arg(with)),
                 qPrintable(compared.view.message()));
        QVERIFY(compared.view.differenceMap() == nullptr);
        QVERIFY(compared.view.overlayGraph(0) == nullptr);
    }

    void rebinningKeepsCountsOnCommonBins() {
        // [2, 6] over [0, 2] and [3, 3, 3] over [1, 4]: common range [0, 4] in 3 bins (the
        // finer input's count) with edges 0, 4/3, 8/3, 4. By hand: the first row's [1, 2) bin
        // gives 1/3 of its 6 to [0, 4/3) and 2/3 to [4/3, 8/3): {2 + 2, 4, 0}; the second
        // row's [1, 2) gives 1 and 2, its [2, 3) gives 2 and 1, its [3, 4) 3: {1, 4, 4}.
        const store::HistogramRecord a{0, 1, 1, "l", "weight", "uniform", 0, 2, {2, 6}, 0, 0};
        const store::HistogramRecord b{0, 2, 1, "l", "weight", "uniform", 1, 4, {3, 3, 3}, 0, 0};
        const AlignedHistograms aligned = align_histograms({&a, &b});
        QCOMPARE(aligned.lo, 0.0);
        QCOMPARE(aligned.hi, 4.0);
        QCOMPARE(aligned.bins, 3);
        const std::vector<std::vector<double>> expected = {{4, 4, 0}, {1, 4, 4}};
        for (size_t r = 0; r < 2; ++r) {
            for (size_t k = 0; k < 3; ++k) {
                QVERIFY(std::abs(aligned.counts[r][k] - expected[r][k]) < 1e-9);
            }
        }
        // Totals kept (8 and 9), here and for an uneven pair of ranges.
        const store::HistogramRecord c{
            0, 3, 1, "l", "weight", "uniform", -0.37, 1.91, {5, 0, 7, 11, 2, 9, 1}, 0, 0};
        const store::HistogramRecord d{0, 4, 1, "l", "weight", "uniform", -2.2, 0.4, {4, 4}, 0, 0};
        const AlignedHistograms uneven = align_histograms({&a, &b, &c, &d});
        const std::vector<double> totals = {8, 9, 35, 8};
        for (size_t r = 0; r < totals.size(); ++r) {
            const double sum =
                std::accumulate(uneven.counts[r].begin(), uneven.counts[r].end(), 0.0);
            QVERIFY(std::abs(sum - totals[r]) < 1e-9);
        }
        QCOMPARE(uneven.bins, 7);
        // Identical bins come back exactly.
        const store::HistogramRecord e{0, 5, 1, "l", "weight", "uniform", -1, 1, {1, 2, 3}, 0, 0};
        const store::HistogramRecord f{0, 6, 1, "l", "weight", "uniform", -1, 1, {7, 0, 5}, 0, 0};
        const AlignedHistograms same = align_histograms({&e, &f});
        QCOMPARE(same.counts[0], (std::vector<double>{1, 2, 3}));
        QCOMPARE(same.counts[1], (std::vector<double>{7, 0, 5}));
    }

    void differenceHeatmapIsTheCountDifference() {
        // A at steps 1, 2, 3, 5 with counts {s, 2s, 3, 1}; B at 1, 2, 3, 4 with {1, s, s², 2};
        // both over [-1, 1] in 4 bins. Common steps 1, 2, 3; A − B by hand:
        // step 1: {0, 1, 2, -1}; step 2: {1, 2, -1, -1}; step 3: {2, 3, -6, -1}.
        int64_t a = 0, b = 0, c = 0;
        {
            auto ws = store::Workspace::open(root_.toStdString());
            store::RunWriter writer(ws);
            a = newRun(writer, "a8");
            b = newRun(writer, "b4");
            c = newRun(writer, "c-wide");
            for (int64_t s : {1, 2, 3, 5}) {
                writer.add_histogram(uniformRow(a, s, -1, 1, {s, 2 * s, 3, 1}));
                addTokens(writer, a, s, 1000 * s);
            }
            for (int64_t s : {1, 2, 3, 4}) {
                writer.add_histogram(uniformRow(b, s, -1, 1, {1, s, s * s, 2}));
                addTokens(writer, b, s, 2500 * s);
                writer.add_histogram(uniformRow(c, s, -2, 2, {0, 1, 2, 3, 4, 3, 2, s}));
            }
        }
        Compared compared(root_);
        compared.view.setRuns({a, b});
        compared.view.setTensor(QStringLiteral("blocks.0.attn.qkv"), QStringLiteral("W"));
        compared.settle();
        QCOMPARE(compared.view.data().runs.size(), size_t{2});
        QCOMPARE(compared.view.difference().steps, (std::vector<int64_t>{1, 2, 3}));
        QCPColorMap* map = compared.view.differenceMap();
        QVERIFY(map != nullptr);
        QCOMPARE(map->data()->keySize(), 3);
        QCOMPARE(map->data()->valueSize(), 4);
        const double expected[3][4] = {{0, 1, 2, -1}, {1, 2, -1, -1}, {2, 3, -6, -1}};
        for (int i = 0; i < 3; ++i) {
            for (int k = 0; k < 4; ++k) {
                QCOMPARE(map->data()->cell(i, k), expected[i][k]);
            }
        }
        // The overlay at A's last step (5): B did not record it.
        QCOMPARE(compared.view.referenceStep().value_or(-1), 5);
        QVERIFY(!compared.view.matchedSteps()[1].has_value());
        QVERIFY(compared.view.overlayGraph(1) == nullptr);
        QVERIFY2(compared.view.message().contains(QStringLiteral("did not record step 5")),
                 qPrintable(compared.view.message()));
        QCOMPARE(graphValues(compared.view.overlayGraph(0)), (std::vector<double>{5, 10, 3, 1}));
        // Different bins (C: 8 bins over [-2, 2]): on common bins each step's difference sums to
        // A's total minus C's.
        compared.view.setRuns({a, c});
        compared.settle();
        const HistogramDifference& wide = compared.view.difference();
        QCOMPARE(wide.steps, (std::vector<int64_t>{1, 2, 3}));
        QCOMPARE(wide.difference.bins, 8);
        QCOMPARE(wide.difference.lo, -2.0);
        QCOMPARE(wide.difference.hi, 2.0);
        for (size_t i = 0; i < wide.steps.size(); ++i) {
            const double s = static_cast<double>(wide.steps[i]);
            const double total_a = s + 2 * s + 3 + 1;
            const double total_c = 0 + 1 + 2 + 3 + 4 + 3 + 2 + s;
            const double sum = std::accumulate(
                wide.difference.counts[i].begin(), wide.difference.counts[i].end(), 0.0);
            QVERIFY(std::abs(sum - (total_a - total_c)) < 1e-9);
        }
    }

    void matchByTokensPicksTheNearestStep() {
        // A logs 1000 tokens per step, B 2500. By hand: A's step 5 is 5000 tokens, B's step 2
        // exactly; A's step 3 is 3000 tokens, nearest B's step 1 (2500, off by 500, against
        // 5000 at step 2).
        int64_t a = 0, b = 0;
        {
            auto ws = store::Workspace::open(root_.toStdString());
            store::RunWriter writer(ws);
            a = newRun(writer, "a8");
            b = newRun(writer, "b4");
            for (int64_t s : {1, 2, 3, 5}) {
                writer.add_histogram(uniformRow(a, s, -1, 1, {s, 2 * s, 3, 1}));
                addTokens(writer, a, s, 1000 * s);
            }
            for (int64_t s : {1, 2, 3, 4}) {
                writer.add_histogram(uniformRow(b, s, -1, 1, {1, s, s * s, 2}));
                addTokens(writer, b, s, 2500 * s);
            }
        }
        Compared compared(root_);
        compared.view.setRuns({a, b});
        compared.view.setTensor(QStringLiteral("blocks.0.attn.qkv"), QStringLiteral("weight"));
        compared.view.setMatch(CrossRunMatch::kSameTokens);
        compared.settle();
        QCOMPARE(compared.view.referenceStep().value_or(-1), 5);
        QCOMPARE(compared.view.matchedSteps()[0].value_or(-1), 5);
        QCOMPARE(compared.view.matchedSteps()[1].value_or(-1), 2);
        // B's histogram at its step 2 is overlaid: {1, 2, 4, 2}.
        QCOMPARE(graphValues(compared.view.overlayGraph(1)), (std::vector<double>{1, 2, 4, 2}));
        compared.view.setStepIndex(2);  // A's step 3
        QCOMPARE(compared.view.referenceStep().value_or(-1), 3);
        QCOMPARE(compared.view.matchedSteps()[1].value_or(-1), 1);
        // The same step instead: B recorded step 3 itself.
        compared.view.setMatch(CrossRunMatch::kSameStep);
        QCOMPARE(compared.view.matchedSteps()[1].value_or(-1), 3);
        // A tie goes to the earlier step: 2000 tokens lies halfway between 1000 and 3000.
        RunHistograms tie;
        tie.uniform = {uniformRow(1, 1, 0, 1, {1}), uniformRow(1, 2, 0, 1, {1})};
        tie.tokens = {{1, 1000}, {2, 3000}};
        QCOMPARE(nearest_step_by_tokens(tie, 2000).value_or(-1), 1);
        QCOMPARE(nearest_step_by_tokens(tie, 2001).value_or(-1), 2);
        // Steps without a token count cannot be matched.
        tie.tokens.clear();
        QVERIFY(!nearest_step_by_tokens(tie, 2000).has_value());
    }

private:
    QTemporaryDir dir_;
    QString root_;
    int count_ = 0;
};

QTEST_MAIN(HealthViewTest)
#include "health_view_test.moc"
