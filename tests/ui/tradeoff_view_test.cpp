// The trade-off explorer over a workspace written here through RunWriter with the gpt2 presets'
// recipes: each point's y is the last val/loss of its run as SQL over the scalars table gives it,
// its x (effective weight bits per parameter, training memory) matches values worked out by hand
// from the tiny GPT-2's parameter counts, the Pareto front of hand-placed points is the
// hand-listed set, the plot's graphs hold exactly the points, runs without val/loss or with a
// broken recipe are left out by name, and a click on a point selects its run in the run browser.
#include "tradeoff/tradeoff_view.h"

#include "lowbit/config/recipe_json.h"
#include "lowbit/config/recipe_yaml.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>
#include <sqlite3.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "charts/qcustomplot_include.h"
#include "models/runs_model.h"
#include "widgets/run_browser.h"

using namespace lowbit;
using namespace lowbit::ui;

namespace {

// The tiny GPT-2 of the gpt2 presets (4 blocks, d_model 128, byte vocabulary, context 64, tied
// lm_head), by hand: token 256x128 + positions 64x128 + final norm 256, and per block the norms
// 2x256 and the linears qkv 128x384+384, attn_out 128x128+128, fc1 128x512+512, fc2 512x128+128.
constexpr int64_t kLinearValuesPerBlock = 128 * 384 + 128 * 128 + 128 * 512 + 512 * 128;  // 196608
constexpr int64_t kLinearValues = 4 * kLinearValuesPerBlock;                              // 786432
constexpr int64_t kParameters =
    256 * 128 + 64 * 128 + 256 + 4 * (2 * 256 + kLinearValuesPerBlock + 384 + 128 + 512 + 128);
static_assert(kParameters == 834304);
constexpr int64_t kOtherParameters = kParameters - kLinearValues;  // stay fp32 in every preset
constexpr int64_t kLinearTensors = 4 * 4;
constexpr int64_t kLinearRows = 4 * (384 + 128 + 512 + 128);  // per-channel: one scale per row

std::string presetJson(const char* name) {
    QFile file(QStringLiteral(":/lowbit/presets/pretrain/gpt2/%1.yaml").arg(QLatin1String(name)));
    if (!file.open(QIODevice::ReadOnly)) {
        qFatal("preset %s not compiled in", name);
    }
    const QByteArray text = file.readAll();
    return config::recipe_to_json(config::parse_recipe_yaml(text.toStdString(), name)).dump();
}

int64_t addRun(store::RunWriter& writer,
               const char* name,
               const std::string& recipe_json,
               const std::vector<std::pair<int64_t, double>>& val_losses) {
    store::RunRecord record;
    record.name = name;
    record.kind = "train";
    record.recipe_json = recipe_json;
    const int64_t id = writer.create_run(record);
    for (int64_t step = 1; step <= 500; step += 1) {
        writer.add_scalar({0, id, "train/loss", step, step * 768, step * 0.1, 5.0 - step * 0.004});
    }
    for (const auto& [step, loss] : val_losses) {
        writer.add_scalar({0, id, "val/loss", step, step * 768, step * 0.1, loss});
    }
    writer.flush();
    writer.set_status(id, store::RunStatus::kCompleted);
    return id;
}

// The last val/loss of a run by SQL over the scalars table, independently of the store's readers.
double sqlLastValLoss(const QString& root, int64_t run_id) {
    sqlite3* db = nullptr;
    const std::string file = (root + QStringLiteral("/runs.sqlite")).toStdString();
    sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* stmt = nullptr;
    double value = std::nan("");
    const char* sql =
        "SELECT value FROM scalars WHERE run_id = ? AND key = 'val/loss' ORDER BY step DESC LIMIT "
        "1";
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, run_id);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            value = sqlite3_column_double(stmt, 0);
        }
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}

TradeoffPoint at(const char* name, double x, double y) {
    TradeoffPoint point;
    point.name = name;
    point.x = x;
    point.y = y;
    return point;
}

QVector<QPointF> dataOf(const QCPGraph* graph) {
    QVector<QPointF> data;
    for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it) {
        data.push_back({it->key, it->value});
    }
    return data;
}

}  // namespace

class TradeoffViewTest : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;
    QString root_;
    std::map<std::string, int64_t> ids_;

    TradeoffRuns readRuns() const {
        const auto workspace =
            store::Workspace::open(root_.toStdString(), store::OpenMode::kReadOnly);
        const store::RunReader reader(workspace);
        return read_tradeoff_runs(reader);
    }

private Q_SLOTS:

    void initTestCase() {
        QVERIFY(dir_.isValid());
        root_ = dir_.filePath(QStringLiteral("ws"));
        auto workspace = store::Workspace::open(root_.toStdString());
        store::RunWriter writer(workspace);
        ids_["baseline"] =
            addRun(writer, "baseline", presetJson("baseline"), {{250, 3.0}, {500, 2.5}});
        // val/loss recorded out of step order: the last step's value counts, not the last row's.
        ids_["w8"] =
            addRun(writer, "w8", presetJson("w8-per-tensor"), {{500, 2.625}, {250, 3.125}});
        ids_["w4"] = addRun(writer, "w4", presetJson("w4-per-channel"), {{250, 3.5}, {500, 2.875}});
        ids_["w8a8"] = addRun(writer, "w8a8", presetJson("w8a8"), {{500, 2.75}});
        ids_["no-val"] = addRun(writer, "no-val", presetJson("baseline"), {});
        ids_["broken"] = addRun(writer, "broken", "{\"model\": ", {{500, 2.0}});
    }

    void pointsYAreTheLastValLossInSql() {
        TradeoffView view;
        view.setRuns(readRuns());
        QCOMPARE(view.points().size(), size_t{4});
        for (const TradeoffPoint& point : view.points()) {
            QCOMPARE(point.y, sqlLastValLoss(root_, point.run_id));
        }
        view.setAxes(TradeoffX::kBitsPerParameter, TradeoffY::kPerplexity, TensorKind::kWeight);
        for (const TradeoffPoint& point : view.points()) {
            QCOMPARE(point.y, std::exp(sqlLastValLoss(root_, point.run_id)));
        }
    }

    void bitsPerParameterAndMemoryByHand() {
        std::map<int64_t, TradeoffRun> runs;
        for (const TradeoffRun& run : readRuns().runs) {
            runs[run.run_id] = run;
        }
        // Baseline: every parameter in fp32, 32 bits each; memory 4 bytes of weight and 8 of
        // AdamW m and v per parameter.
        const TradeoffRun& baseline = runs.at(ids_["baseline"]);
        QCOMPARE(baseline.bits_per_parameter, 32.0);
        QCOMPARE(baseline.memory_bytes, 12 * kParameters);
        // W8 per tensor (symmetric): the 16 linear weights as one byte per value plus one fp32
        // scale per tensor, the rest fp32: (47872*4 + 786432 + 16*4) * 8 / 834304 = 9.3776...
        const double w8_bits =
            8.0 * (kOtherParameters * 4 + kLinearValues + kLinearTensors * 4) / kParameters;
        QCOMPARE(runs.at(ids_["w8"]).bits_per_parameter, w8_bits);
        QVERIFY(std::abs(w8_bits - 9.37769) < 1e-4);
        QCOMPARE(runs.at(ids_["w8"]).memory_bytes,
                 kOtherParameters * 4 + kLinearValues + kLinearTensors * 4 + 8 * kParameters);
        // W4 per channel: two codes a byte, one fp32 scale per row (4608 rows).
        const double w4_bits =
            8.0 * (kOtherParameters * 4 + kLinearValues / 2 + kLinearRows * 4) / kParameters;
        QCOMPARE(runs.at(ids_["w4"]).bits_per_parameter, w4_bits);
        // Activations quantized cost no stored weight bytes: W8A8's x is W8 per channel's.
        const double w8_channel_bits =
            8.0 * (kOtherParameters * 4 + kLinearValues + kLinearRows * 4) / kParameters;
        QCOMPARE(runs.at(ids_["w8a8"]).bits_per_parameter, w8_channel_bits);

        // The memory axis in MB (1e6 bytes).
        TradeoffView view;
        view.setRuns(readRuns());
        view.setAxes(TradeoffX::kMemoryMegabytes, TradeoffY::kValLoss, TensorKind::kWeight);
        for (const TradeoffPoint& point : view.points()) {
            if (point.run_id == ids_["baseline"]) {
                QCOMPARE(point.x, 12.0 * kParameters / 1e6);
            }
        }
    }

    void paretoFrontOfHandPlacedPoints() {
        // Lower is better on both axes. By hand: g (1,6) is dominated by a (1,5) at the same x;
        // d (3,3) by b (2,3) at the same y; f (5,2) by e (4,1); b and c sit at the same place and
        // neither dominates the other, so both stay. Sorted by x: h, a, b, c, e.
        const std::vector<TradeoffPoint> points = {at("a", 1, 5),
                                                   at("b", 2, 3),
                                                   at("c", 2, 3),
                                                   at("d", 3, 3),
                                                   at("e", 4, 1),
                                                   at("f", 5, 2),
                                                   at("g", 1, 6),
                                                   at("h", 0.5, 7)};
        QStringList names;
        for (const TradeoffPoint& point : pareto_front(points)) {
            names << QString::fromStdString(point.name);
        }
        QCOMPARE(names, (QStringList{"h", "a", "b", "c", "e"}));
        QVERIFY(pareto_front({}).empty());
        QCOMPARE(pareto_front({at("only", 3, 3)}).size(), size_t{1});
    }

    void graphsHoldThePointsByWeightBits() {
        TradeoffView view;
        view.resize(800, 600);
        view.setRuns(readRuns());
        view.setAxes(TradeoffX::kBitsPerParameter, TradeoffY::kValLoss, TensorKind::kWeight);
        // Weight bits: w4 (4), w8 and w8a8 (8), the baseline (fp32): three graphs, fewest first.
        const auto& graphs = view.scatterGraphs();
        QCOMPARE(graphs.size(), size_t{3});
        QCOMPARE(graphs[0]->name(), QStringLiteral("W4"));
        QCOMPARE(graphs[1]->name(), QStringLiteral("W8"));
        QCOMPARE(graphs[2]->name(), QStringLiteral("fp32"));
        QCOMPARE(view.plot()->graphCount(), 4);  // and the front
        std::map<int64_t, TradeoffRun> runs;
        for (const TradeoffRun& run : readRuns().runs) {
            runs[run.run_id] = run;
        }
        auto xy = [&runs, this](const char* name) {
            const TradeoffRun& run = runs.at(ids_[name]);
            return QPointF(run.bits_per_parameter, sqlLastValLoss(root_, run.run_id));
        };
        QCOMPARE(dataOf(graphs[0]), QVector<QPointF>{xy("w4")});
        // W8 per tensor (9.378 bits) before W8 per channel (9.47 bits).
        QCOMPARE(dataOf(graphs[1]), (QVector<QPointF>{xy("w8"), xy("w8a8")}));
        QCOMPARE(dataOf(graphs[2]), QVector<QPointF>{xy("baseline")});
        // By hand from the losses: w4 (4.3 bits, 2.875) and w8 (9.38, 2.625) are on the front;
        // w8a8 (9.47, 2.75) is worse than w8 on both, the baseline (32, 2.5) has the lowest loss.
        QCOMPARE(dataOf(view.frontGraph()), (QVector<QPointF>{xy("w4"), xy("w8"), xy("baseline")}));
        QCOMPARE(view.frontGraph()->lineStyle(), QCPGraph::lsStepLeft);

        // Coloured by activation bits: W8A8 alone is A8, the rest fp32.
        view.setAxes(TradeoffX::kBitsPerParameter, TradeoffY::kValLoss, TensorKind::kActivation);
        QCOMPARE(view.scatterGraphs().size(), size_t{2});
        QCOMPARE(view.scatterGraphs()[0]->name(), QStringLiteral("A8"));
        QCOMPARE(dataOf(view.scatterGraphs()[0]), QVector<QPointF>{xy("w8a8")});
        QCOMPARE(view.scatterGraphs()[1]->data()->size(), 3);
    }

    void runsWithoutValLossOrRecipeAreLeftOutByName() {
        const TradeoffRuns runs = readRuns();
        std::map<int64_t, std::string> reasons;
        for (const SkippedRun& skipped : runs.skipped) {
            reasons[skipped.run_id] = skipped.reason;
        }
        QCOMPARE(reasons.size(), size_t{2});
        QVERIFY(QString::fromStdString(reasons.at(ids_["no-val"])).contains("val/loss"));
        QVERIFY(QString::fromStdString(reasons.at(ids_["broken"])).contains("recipe"));
        TradeoffView view;
        view.setRuns(runs);
        for (const TradeoffPoint& point : view.points()) {
            QVERIFY(point.run_id != ids_["no-val"] && point.run_id != ids_["broken"]);
        }
        const QString shown = view.skippedLabel()->text();
        QVERIFY2(shown.contains("no-val") && shown.contains("broken"), qPrintable(shown));

        // A workspace that cannot be opened is a message, not a crash.
        TradeoffView missing;
        missing.setWorkspace(dir_.filePath(QStringLiteral("no/such/workspace")));
        QVERIFY(missing.points().empty());
        QVERIFY(!missing.skippedLabel()->text().isEmpty());
    }

    void onlyCompletedRunsArePlaced() {
        // The same record and results: completed it is a point at its last val/loss; stopped or
        // still running, its last val/loss is not final and it is left out, saying why.
        store::RunRecord record;
        record.id = 7;
        record.name = "half-way";
        record.recipe_json = presetJson("baseline");
        record.status = store::RunStatus::kCompleted;
        store::RunResults results;
        results.final["val/loss"] = {500, 2.5};
        std::string reason;
        const auto placed = tradeoff_run(record, results, reason);
        QVERIFY(placed.has_value());
        QCOMPARE(placed->final_val_loss, 2.5);
        for (auto status : {store::RunStatus::kStopped, store::RunStatus::kRunning}) {
            record.status = status;
            reason.clear();
            QVERIFY(!tradeoff_run(record, results, reason).has_value());
            QVERIFY2(QString::fromStdString(reason).startsWith(QStringLiteral("not completed")),
                     reason.c_str());
        }
    }

    void clickingAPointSelectsItsRun() {
        TradeoffView view;
        view.resize(900, 700);
        view.setWorkspace(root_);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.plot()->replot();
        const TradeoffPoint* w4 = nullptr;
        for (const TradeoffPoint& point : view.points()) {
            if (point.run_id == ids_["w4"]) {
                w4 = &point;
            }
        }
        QVERIFY(w4 != nullptr);
        const QPoint pixel(qRound(view.plot()->xAxis->coordToPixel(w4->x)),
                           qRound(view.plot()->yAxis->coordToPixel(w4->y)));

        // The run browser the main window connects it to.
        RunsModel model;
        std::vector<RunRow> rows;
        for (const auto& [name, id] : ids_) {
            RunRow row;
            row.record.id = id;
            row.record.name = name;
            rows.push_back(row);
        }
        model.setRuns(rows);
        RunBrowser browser(&model);
        browser.filter()->setText(QStringLiteral("baseline"));  // hides w4 until activated
        QObject::connect(&view, &TradeoffView::runActivated, &browser, &RunBrowser::selectRun);

        QSignalSpy activated(&view, &TradeoffView::runActivated);

        QTest::mouseClick(view.plot(), Qt::LeftButton, {}, pixel);
        QCOMPARE(activated.size(), 1);
        QCOMPARE(activated.first().first().toLongLong(), ids_["w4"]);
        QVERIFY(view.pointLabel()->text().contains(QStringLiteral("w4")));
        QCOMPARE(browser.selectedRuns(), QList<qint64>{ids_["w4"]});
        QVERIFY(browser.filter()->text().isEmpty());

        // A point off the front (w8a8).
        for (const TradeoffPoint& point : view.points()) {
            if (point.run_id == ids_["w8a8"]) {
                QTest::mouseClick(view.plot(),
                                  Qt::LeftButton,
                                  {},
                                  QPoint(qRound(view.plot()->xAxis->coordToPixel(point.x)),
                                         qRound(view.plot()->yAxis->coordToPixel(point.y))));
            }
        }
        QCOMPARE(activated.size(), 2);
        QCOMPARE(activated.last().first().toLongLong(), ids_["w8a8"]);
        QCOMPARE(browser.selectedRuns(), QList<qint64>{ids_["w8a8"]});
        // On the front's line halfway between w8 and the baseline, far from any point: the line
        // is hit but no run is under the cursor.
        const QPoint empty(qRound(view.plot()->xAxis->coordToPixel(20)),
                           qRound(view.plot()->yAxis->coordToPixel(2.625)));
        QTest::mouseClick(view.plot(), Qt::LeftButton, {}, empty);
        QCOMPARE(activated.size(), 2);
    }
};

QTEST_MAIN(TradeoffViewTest)
#include "tradeoff_view_test.moc"
