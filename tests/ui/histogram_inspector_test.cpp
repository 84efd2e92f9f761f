// The histogram inspector against workspaces written here through RunWriter with hand-chosen
// statistics and bins: the quantizer overlay's positions are the stored scale times the levels
// (worked by hand below for symmetric and asymmetric 4-bit quantizers and per-row scales), the
// statistics shown are the stored ones, the heatmap's cells are the stored counts under
// log10(1 + count), the percentile bands match a hand-computed histogram, and the step slider
// follows rows appended later. With an engine (LOWBIT_ENGINE_BINARY), a real W8A8G8 run shows
// grid bins for W, A and G and log2 bins for m and v.
#include "histograms/histogram_inspector.h"

#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <QLabel>
#include <QProcess>
#include <QSlider>
#include <QTemporaryDir>
#include <QTreeWidget>
#include <QtTest>

#include <cmath>
#include <vector>

#include "charts/qcustomplot_include.h"
#include "histograms/histogram_math.h"
#include "histograms/telemetry_worker.h"

using namespace lowbit;
using namespace lowbit::ui;

namespace {

const char* const kSymmetric4 =
    R"({"bits":4,"granularity":"per_tensor","group_size":128,"symmetric":true,)"
    R"("grid":"reference","rounding":"nearest","min_range":1e-05})";
const char* const kAsymmetric4 =
    R"({"bits":4,"granularity":"per_tensor","group_size":128,"symmetric":false,)"
    R"("grid":"reference","rounding":"nearest","min_range":1e-05})";
const char* const kAsymmetric4Full =
    R"({"bits":4,"granularity":"per_tensor","group_size":128,"symmetric":false,)"
    R"("grid":"full","rounding":"nearest","min_range":1e-05})";
const char* const kPerChannel8 =
    R"({"bits":8,"granularity":"per_channel","group_size":128,"symmetric":true,)"
    R"("grid":"reference","rounding":"nearest","min_range":1e-05})";

store::TensorStatsRecord statsRow(int64_t run,
                                  int64_t step,
                                  const std::string& layer,
                                  const std::string& kind) {
    store::TensorStatsRecord s;
    s.run_id = run;
    s.step = step;
    s.layer = layer;
    s.tensor_kind = kind;
    s.n = 100;
    s.min = -1;
    s.max = 1;
    const double nan = std::nan("");
    s.sqnr_db = s.mse = s.clip_fraction = s.underflow_fraction = nan;
    s.scale_min = s.scale_max = s.absmax_over_sigma = s.kurtosis = nan;
    return s;
}

store::HistogramRecord histogramRow(int64_t run,
                                    int64_t step,
                                    const std::string& layer,
                                    const std::string& kind,
                                    const std::string& scheme,
                                    double lo,
                                    double hi,
                                    std::vector<int64_t> counts) {
    return {0, run, step, layer, kind, scheme, lo, hi, std::move(counts), 0, 0};
}

int64_t newRun(store::RunWriter& writer, const char* name) {
    store::RunRecord record;
    record.name = name;
    record.kind = "train";
    record.recipe_json = "{}";
    return writer.create_run(record);
}

QVector<double> keysOf(QCPGraph* graph) {
    QVector<double> keys;
    if (graph != nullptr) {
        for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it) {
            keys.push_back(it->key);
        }
    }
    return keys;
}

double valueAt(QCPGraph* graph, double key) {
    for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it) {
        if (it->key == key) {
            return it->value;
        }
    }
    return std::nan("");
}

// "1.25 %" -> 1.25
double shownNumber(QLabel* label) {
    QString text = label->text();
    text.remove(QStringLiteral(" %")).remove(QStringLiteral(" dB"));
    bool ok = false;
    const double value = text.toDouble(&ok);
    return ok ? value : std::nan("");
}

// The inspector and a worker in this thread, everything read synchronously.
struct Shown {
    explicit Shown(const QString& root) : worker(root), inspector(nullptr) {
        worker.open(0);
        inspector.connectWorker(&worker);
        inspector.resize(1200, 800);
    }

    void select(int64_t run, const QString& layer = {}, const QString& kind = {}) {
        inspector.setSelection(run, layer, kind);
        settle();
    }

    void settle() {
        for (int i = 0; i < 6; ++i) {
            QCoreApplication::processEvents();
        }
    }

    TelemetryWorker worker;
    HistogramInspector inspector;
};

}  // namespace

class HistogramInspectorTest : public QObject {
    Q_OBJECT

private Q_SLOTS:

    void init() {
        QVERIFY(dir_.isValid());
        root_ = dir_.path() + QStringLiteral("/ws-") + QString::number(++count_);
    }

    void symmetricPerTensorLevelsAreScaleTimesCodes() {
        int64_t run = 0;
        {
            auto ws = store::Workspace::open(root_.toStdString());
            store::RunWriter writer(ws);
            run = newRun(writer, "sym4");
            auto s = statsRow(run, 10, "blocks.0.attn.qkv", "weight");
            s.quantizer = kSymmetric4;
            s.qn = -8;
            s.qp = 7;
            s.min = -1.9;
            s.max = 1.7;
            s.scale_min = s.scale_max = 0.25;
            s.clip_fraction = 0.0125;
            s.clipped_low = 1;
            s.clipped_high = 0;
            s.underflow_fraction = 0.03125;
            s.sqnr_db = 17.5;
            s.mse = 0.0042;
            writer.add_tensor_stats(s);
            writer.add_histogram(histogramRow(run,
                                              10,
                                              s.layer,
                                              s.tensor_kind,
                                              "uniform",
                                              -1.9,
                                              1.7,
                                              {2, 5, 9, 20, 30, 18, 10, 6}));
            writer.add_histogram(
                histogramRow(run,
                             10,
                             s.layer,
                             s.tensor_kind,
                             "grid",
                             -8.5,
                             7.5,
                             {1, 0, 2, 4, 6, 9, 12, 15, 14, 11, 8, 6, 4, 2, 1, 5}));
        }
        Shown shown(root_);
        shown.select(run);
        QCOMPARE(shown.inspector.layer(), std::string("blocks.0.attn.qkv"));
        QCOMPARE(shown.inspector.kind(), std::string("weight"));
        QCOMPARE(shown.inspector.currentStep().value_or(-1), 10);
        // Hand: code q at q·s, s = 0.25, q = -8..7.
        const QVector<double> expected = {-2.0,
                                          -1.75,
                                          -1.5,
                                          -1.25,
                                          -1.0,
                                          -0.75,
                                          -0.5,
                                          -0.25,
                                          0.0,
                                          0.25,
                                          0.5,
                                          0.75,
                                          1.0,
                                          1.25,
                                          1.5,
                                          1.75};
        QCOMPARE(keysOf(shown.inspector.levelsGraph()), expected);
        QCOMPARE(keysOf(shown.inspector.clipGraph()), (QVector<double>{-2.0, 1.75}));
        QVERIFY(shown.inspector.coarseLevelsGraph() == nullptr);
        // The statistics beside it are the stored ones (shown in percent with 4 digits).
        QCOMPARE(shownNumber(shown.inspector.statisticLabel(QStringLiteral("clip_fraction"))),
                 1.25);
        QCOMPARE(shownNumber(shown.inspector.statisticLabel(QStringLiteral("underflow_fraction"))),
                 3.125);
        QCOMPARE(shownNumber(shown.inspector.statisticLabel(QStringLiteral("sqnr_db"))), 17.5);
        QCOMPARE(shown.inspector.statisticLabel(QStringLiteral("clipped"))->text(),
                 QStringLiteral("1 / 0"));
        QCOMPARE(shown.inspector.statisticLabel(QStringLiteral("scale"))->text(),
                 QStringLiteral("0.25"));
        // The bars are the uniform bins in value units: centres -1.9 + (k + 0.5)·0.45.
        auto* bars = qobject_cast<QCPBars*>(shown.inspector.stepPlot()->plottable(0));
        QVERIFY(bars != nullptr);
        QCOMPARE(bars->data()->size(), 8);
        QVERIFY(std::abs(bars->data()->at(0)->key - (-1.675)) < 1e-12);
        QCOMPARE(bars->data()->at(4)->value, 30.0);
        // Stored bins: codes, no value-unit overlay.
        shown.inspector.setStepBins(HistogramInspector::StepBins::kStored);
        bars = qobject_cast<QCPBars*>(shown.inspector.stepPlot()->plottable(0));
        QCOMPARE(bars->data()->at(0)->key, -8.0);
        QCOMPARE(bars->data()->at(15)->value, 5.0);
        QVERIFY(shown.inspector.levelsGraph() == nullptr);
        // Log y: the count axis goes logarithmic, the overlay stays on its own linear axis.
        shown.inspector.setStepBins(HistogramInspector::StepBins::kValues);
        shown.inspector.setLogY(true);
        QCOMPARE(shown.inspector.stepPlot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
        QCOMPARE(keysOf(shown.inspector.levelsGraph()), expected);
    }

    void asymmetricPerTensorLevelsUseTheZeroPoint() {
        // Reference grid: s = (1.1 - (-0.3))/(2·7) = 0.1, z = round(-0.3/0.1 + 8) = 5, level
        // (q + 5)·0.1 for q = -8..7: -0.3 .. 1.2. Full grid: codes 0..15, zp = round(0.3/0.1)
        // = 3, level (q - 3)·0.1: the same values.
        const QVector<double> expected = {
            -0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2};
        for (const bool full : {false, true}) {
            root_ = dir_.path() + QStringLiteral("/asym-") + QString::number(full);
            int64_t run = 0;
            {
                auto ws = store::Workspace::open(root_.toStdString());
                store::RunWriter writer(ws);
                run = newRun(writer, "asym4");
                auto s = statsRow(run, 5, "blocks.1.mlp.fc", "activation");
                s.quantizer = full ? kAsymmetric4Full : kAsymmetric4;
                s.qn = full ? 0 : -8;
                s.qp = full ? 15 : 7;
                s.min = -0.3;
                s.max = full ? 1.2 : 1.1;  // full: s = 1.5/15 = 0.1; reference: 1.4/14 = 0.1
                s.scale_min = s.scale_max = 0.1;
                writer.add_tensor_stats(s);
                writer.add_histogram(histogramRow(
                    run, 5, s.layer, s.tensor_kind, "uniform", s.min, s.max, {3, 4, 5}));
                writer.add_histogram(histogramRow(run,
                                                  5,
                                                  s.layer,
                                                  s.tensor_kind,
                                                  "grid",
                                                  *s.qn - 0.5,
                                                  *s.qp + 0.5,
                                                  std::vector<int64_t>(16, 1)));
            }
            Shown shown(root_);
            shown.select(run);
            QCOMPARE(shown.inspector.kind(), std::string("activation"));
            const auto keys = keysOf(shown.inspector.levelsGraph());
            QCOMPARE(keys.size(), expected.size());
            for (int i = 0; i < keys.size(); ++i) {
                // float32 levels: within a float ulp of the decimal value
                QVERIFY2(std::abs(keys[i] - expected[i]) < 1e-6,
                         qPrintable(QStringLiteral("level %1: %2").arg(i).arg(keys[i])));
            }
            const auto clip = keysOf(shown.inspector.clipGraph());
            QVERIFY(std::abs(clip.front() + 0.3) < 1e-6 && std::abs(clip.back() - 1.2) < 1e-6);
        }
    }

    void perRowScalesDrawTheirLevelRange() {
        int64_t run = 0;
        {
            auto ws = store::Workspace::open(root_.toStdString());
            store::RunWriter writer(ws);
            run = newRun(writer, "rows");
            auto s = statsRow(run, 1, "lm_head", "weight");
            s.quantizer = kPerChannel8;
            s.qn = -128;
            s.qp = 127;
            s.scale_min = 0.001;
            s.scale_max = 0.004;
            writer.add_tensor_stats(s);
            writer.add_histogram(
                histogramRow(run, 1, s.layer, s.tensor_kind, "uniform", -1, 1, {1, 1}));
            writer.add_histogram(histogramRow(run,
                                              1,
                                              s.layer,
                                              s.tensor_kind,
                                              "grid",
                                              -128.5,
                                              127.5,
                                              std::vector<int64_t>(256, 1)));
        }
        Shown shown(root_);
        shown.select(run);
        // Finest levels q·0.001, coarsest q·0.004, q = -128..127; clip range the coarsest.
        const auto fine = keysOf(shown.inspector.levelsGraph());
        const auto coarse = keysOf(shown.inspector.coarseLevelsGraph());
        QCOMPARE(fine.size(), 256);
        // float32 levels: within 1e-7 (a few float ulps at 0.5) of the decimal values.
        QVERIFY(std::abs(fine.front() + 0.128) < 1e-7 && std::abs(fine.back() - 0.127) < 1e-7);
        QVERIFY(std::abs(coarse.front() + 0.512) < 1e-7 && std::abs(coarse.back() - 0.508) < 1e-7);
        const auto clip = keysOf(shown.inspector.clipGraph());
        QVERIFY(std::abs(clip.front() + 0.512) < 1e-7 && std::abs(clip.back() - 0.508) < 1e-7);
        QVERIFY(shown.inspector.levelsGraph()->name().contains(QStringLiteral("per_channel")));
        QCOMPARE(shown.inspector.statisticLabel(QStringLiteral("scale"))->text(),
                 QStringLiteral("0.001 … 0.004"));
    }

    void heatmapCellsAreTheStoredCounts() {
        const std::vector<std::vector<int64_t>> grid = {
            {0, 1, 5, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2},
            {3, 0, 0, 99, 1000, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0},
            {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
        // log2 rows of an unquantized tensor: exponents -64..15, only -20..-18 occupied.
        std::vector<std::vector<int64_t>> log2(3, std::vector<int64_t>(80, 0));
        log2[0][44] = 4;  // 2^-20 <= |x| < 2^-19
        log2[1][45] = 9;
        log2[2][46] = 1;
        log2[2][44] = 2;
        int64_t run = 0;
        {
            auto ws = store::Workspace::open(root_.toStdString());
            store::RunWriter writer(ws);
            run = newRun(writer, "heat");
            for (int i = 0; i < 3; ++i) {
                const int64_t step = 10 * (i + 1);
                auto s = statsRow(run, step, "blocks.0.attn.proj", "grad_output");
                s.quantizer = kSymmetric4;
                s.qn = -8;
                s.qp = 7;
                s.scale_min = s.scale_max = 0.5;
                writer.add_tensor_stats(s);
                writer.add_histogram(
                    histogramRow(run, step, s.layer, s.tensor_kind, "uniform", -1, 1, {1, 2}));
                writer.add_histogram(histogramRow(run,
                                                  step,
                                                  s.layer,
                                                  s.tensor_kind,
                                                  "grid",
                                                  -8.5,
                                                  7.5,
                                                  grid[static_cast<size_t>(i)]));
                auto v = statsRow(run, step, "blocks.0.attn.proj", "optim_v");
                writer.add_tensor_stats(v);
                writer.add_histogram(
                    histogramRow(run, step, v.layer, v.tensor_kind, "uniform", 0, 1, {1, 2}));
                writer.add_histogram(histogramRow(run,
                                                  step,
                                                  v.layer,
                                                  v.tensor_kind,
                                                  "log2",
                                                  -64,
                                                  16,
                                                  log2[static_cast<size_t>(i)]));
            }
        }
        Shown shown(root_);
        shown.select(run, QStringLiteral("blocks.0.attn.proj"), QStringLiteral("grad_output"));
        QCOMPARE(shown.inspector.heatmapScheme(), QStringLiteral("grid"));
        QCPColorMap* map = shown.inspector.heatmap();
        QVERIFY(map != nullptr);
        QCOMPARE(map->data()->keySize(), 3);
        QCOMPARE(map->data()->valueSize(), 16);
        for (int i = 0; i < 3; ++i) {
            for (int k = 0; k < 16; ++k) {
                const double count = static_cast<double>(grid[size_t(i)][size_t(k)]);
                QCOMPARE(map->data()->cell(i, k), std::log10(1.0 + count));
                double step = 0, code = 0;
                map->data()->cellToCoord(i, k, &step, &code);
                QCOMPARE(step, 10.0 * (i + 1));
                QCOMPARE(code, -8.0 + k);  // row k is code qn + k
            }
        }
        shown.select(run, QStringLiteral("blocks.0.attn.proj"), QStringLiteral("optim_v"));
        QCOMPARE(shown.inspector.heatmapScheme(), QStringLiteral("log2"));
        map = shown.inspector.heatmap();
        QCOMPARE(shown.inspector.heatmapFirstBin(), 44);
        QCOMPARE(map->data()->valueSize(), 3);
        for (int i = 0; i < 3; ++i) {
            for (int k = 0; k < 3; ++k) {
                const double count = static_cast<double>(log2[size_t(i)][size_t(44 + k)]);
                QCOMPARE(map->data()->cell(i, k), std::log10(1.0 + count));
            }
        }
        double step = 0, exponent = 0;
        map->data()->cellToCoord(0, 0, &step, &exponent);
        QCOMPARE(exponent, -19.5);  // the middle of [2^-20, 2^-19) in exponent units
    }

    void percentileBandsMatchAHandComputedHistogram() {
        // Counts 1, 2, 3, 4 over [0, 4] (N = 10), values spread evenly in each bin:
        // p5: 0.5 values -> bin 0 at 0.5; p25: 2.5 -> bin 1, (2.5 - 1)/2 -> 1.75;
        // median: 5 -> bin 2, (5 - 3)/3 -> 2.6667; p75: 7.5 -> bin 3, (7.5 - 6)/4 -> 3.375;
        // p95: 9.5 -> 3 + 3.5/4 = 3.875.
        int64_t run = 0;
        {
            auto ws = store::Workspace::open(root_.toStdString());
            store::RunWriter writer(ws);
            run = newRun(writer, "pct");
            auto s = statsRow(run, 7, "blocks.0.mlp.proj", "weight");
            s.min = 0;
            s.max = 4;
            writer.add_tensor_stats(s);
            writer.add_histogram(
                histogramRow(run, 7, s.layer, s.tensor_kind, "uniform", 0, 4, {1, 2, 3, 4}));
            writer.add_histogram(histogramRow(
                run, 7, s.layer, s.tensor_kind, "log2", -64, 16, std::vector<int64_t>(80, 0)));
        }
        Shown shown(root_);
        shown.select(run);
        shown.inspector.setOverStepsMode(HistogramInspector::OverStepsMode::kPercentiles);
        const std::pair<const char*, double> expected[] = {{"p5", 0.5},
                                                           {"p25", 1.75},
                                                           {"median", 8.0 / 3.0},
                                                           {"p75", 3.375},
                                                           {"p95", 3.875},
                                                           {"min", 0.0},
                                                           {"max", 4.0}};
        for (const auto& [name, value] : expected) {
            QCPGraph* graph = shown.inspector.percentileGraph(QString::fromLatin1(name));
            QVERIFY2(graph != nullptr, name);
            QVERIFY2(std::abs(valueAt(graph, 7.0) - value) < 1e-12, name);
        }
        // Unquantized: no overlay, the statistics say so.
        QVERIFY(shown.inspector.levelsGraph() == nullptr);
        QCOMPARE(shown.inspector.statisticLabel(QStringLiteral("quantizer"))->text(),
                 QStringLiteral("none (full precision)"));
    }

    void rebinningKeepsCountsOnACommonAxis() {
        // [4] over [0, 1] onto 2 bins over [0, 2]: all of it in [0, 1).
        QCOMPARE(rebin_uniform({4}, 0, 1, 0, 2, 2), (std::vector<double>{4, 0}));
        // [2, 6] over [0, 2] onto 2 bins over [-1, 3]: bin [-1, 1) takes bin [0, 1) whole,
        // bin [1, 3) takes [1, 2).
        QCOMPARE(rebin_uniform({2, 6}, 0, 2, -1, 3, 2), (std::vector<double>{2, 6}));
        // [4] over [0, 2] onto 4 bins over [0, 2]: a quarter each... of the overlap: 1 each.
        QCOMPARE(rebin_uniform({4}, 0, 2, 0, 2, 4), (std::vector<double>{1, 1, 1, 1}));
    }

    void layerTreeGroupsByBlock() {
        int64_t run = 0;
        {
            auto ws = store::Workspace::open(root_.toStdString());
            store::RunWriter writer(ws);
            run = newRun(writer, "tree");
            for (const char* layer :
                 {"blocks.10.mlp.fc", "blocks.2.attn.qkv", "lm_head", "blocks.2.attn.proj"}) {
                writer.add_tensor_stats(statsRow(run, 1, layer, "weight"));
            }
        }
        Shown shown(root_);
        shown.select(run);
        QTreeWidget* tree = shown.inspector.layerTree();
        QStringList top;
        for (int i = 0; i < tree->topLevelItemCount(); ++i) {
            top << tree->topLevelItem(i)->text(0);
        }
        QCOMPARE(top, (QStringList{"blocks.2", "blocks.10", "lm_head"}));
        QCOMPARE(tree->topLevelItem(0)->childCount(), 2);
        QCOMPARE(tree->topLevelItem(0)->child(0)->text(0), QStringLiteral("attn.proj"));
        QCOMPARE(tree->topLevelItem(0)->child(1)->data(0, Qt::UserRole).toString(),
                 QStringLiteral("blocks.2.attn.qkv"));
        QCOMPARE(shown.inspector.layer(), std::string("blocks.2.attn.proj"));  // the first
    }

    void sliderFollowsAppendedRows() {
        auto ws = store::Workspace::open(root_.toStdString());
        int64_t run = 0;
        auto append = [&](int64_t step) {
            store::RunWriter writer(ws);
            if (run == 0) {
                run = newRun(writer, "live");
            }
            auto s = statsRow(run, step, "blocks.0.attn.qkv", "weight");
            writer.add_tensor_stats(s);
            writer.add_histogram(
                histogramRow(run, step, s.layer, s.tensor_kind, "uniform", -1, 1, {step, 1}));
            writer.add_histogram(histogramRow(
                run, step, s.layer, s.tensor_kind, "log2", -64, 16, std::vector<int64_t>(80, 0)));
        };
        append(1);
        append(2);
        Shown shown(root_);
        shown.select(run);
        QCOMPARE(shown.inspector.currentStep().value_or(-1), 2);
        append(3);
        shown.worker.poll();
        shown.settle();
        QCOMPARE(shown.inspector.stepSlider()->maximum(), 2);
        QCOMPARE(shown.inspector.currentStep().value_or(-1), 3);  // followed to the new end
        // The bars show the new step's counts (bin 0 holds `step`).
        auto* bars = qobject_cast<QCPBars*>(shown.inspector.stepPlot()->plottable(0));
        QCOMPARE(bars->data()->at(0)->value, 3.0);
        // Moved back, it stays where it was while rows arrive; at the end again, it follows.
        shown.inspector.setStepIndex(0);
        append(4);
        shown.worker.poll();
        shown.settle();
        QCOMPARE(shown.inspector.currentStep().value_or(-1), 1);
        QCOMPARE(shown.inspector.stepSlider()->maximum(), 3);
        shown.inspector.setStepIndex(3);
        append(5);
        shown.worker.poll();
        shown.settle();
        QCOMPARE(shown.inspector.currentStep().value_or(-1), 5);
    }

    void threadedWorkerFollowsAppendedRows() {
        // openWorkspace(): the worker polls in its own thread; the GUI thread only receives.
        auto ws = store::Workspace::open(root_.toStdString());
        int64_t run = 0;
        {
            store::RunWriter writer(ws);
            run = newRun(writer, "threaded");
            auto s = statsRow(run, 1, "blocks.0.attn.qkv", "weight");
            writer.add_tensor_stats(s);
            writer.add_histogram(
                histogramRow(run, 1, s.layer, s.tensor_kind, "uniform", -1, 1, {1}));
            writer.add_histogram(histogramRow(
                run, 1, s.layer, s.tensor_kind, "log2", -64, 16, std::vector<int64_t>(80, 0)));
        }
        HistogramInspector inspector(nullptr);
        inspector.openWorkspace(root_);
        inspector.setSelection(run);
        QTRY_COMPARE_WITH_TIMEOUT(inspector.currentStep().value_or(-1), 1, 10000);
        {
            store::RunWriter writer(ws);
            auto s = statsRow(run, 2, "blocks.0.attn.qkv", "weight");
            writer.add_tensor_stats(s);
            writer.add_histogram(
                histogramRow(run, 2, s.layer, s.tensor_kind, "uniform", -1, 1, {1}));
            writer.add_histogram(histogramRow(
                run, 2, s.layer, s.tensor_kind, "log2", -64, 16, std::vector<int64_t>(80, 0)));
        }
        QTRY_COMPARE_WITH_TIMEOUT(inspector.currentStep().value_or(-1), 2, 10000);
    }

    void realW8A8G8RunShowsGridAndLog2() {
        const QString engine = qEnvironmentVariable("LOWBIT_ENGINE_BINARY");
        QVERIFY2(!engine.isEmpty(), "LOWBIT_ENGINE_BINARY names the engine for this test");
        const QString recipe = dir_.path() + QStringLiteral("/w8a8g8.yaml");
        QFile file(recipe);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(
            "name: tiny-w8a8g8\n"
            "seed: 3\n"
            "model: {family: gpt2, layers: 1, heads: 2, d_model: 32, context: 32}\n"
            "data: {train: builtin:markov, markov: {tokens: 20000}}\n"
            "train: {steps: 6, batch_size: 4, warmup_steps: 1, eval_every: 6, eval_batches: 1,\n"
            "        device: cpu, threads: 1}\n"
            "quant: {weight: {bits: 8}, activation: {bits: 8}, grad_output: {bits: 8}}\n"
            "telemetry: {every: 2}\n");
        file.close();
        QProcess train;
        train.start(engine,
                    {QStringLiteral("train"),
                     recipe,
                     QStringLiteral("--workspace"),
                     root_,
                     QStringLiteral("--progress"),
                     QStringLiteral("none")});
        QVERIFY(train.waitForFinished(300000));
        QVERIFY2(train.exitCode() == 0, train.readAllStandardError().constData());

        Shown shown(root_);
        const auto run = shown.worker.firstRunWithTelemetry({1});
        QVERIFY(run.has_value());
        shown.select(*run);
        const auto& tensors = shown.inspector.catalogue().tensors;
        QVERIFY(!tensors.empty());
        const QString layer = QString::fromStdString(tensors.begin()->first);
        const std::pair<const char*, const char*> schemes[] = {{"weight", "grid"},
                                                               {"activation", "grid"},
                                                               {"grad_output", "grid"},
                                                               {"optim_m", "log2"},
                                                               {"optim_v", "log2"}};
        for (const auto& [kind, scheme] : schemes) {
            shown.select(*run, layer, QString::fromLatin1(kind));
            const auto& steps = shown.inspector.series().steps;
            QVERIFY2(steps.size() == 3, kind);  // steps 2, 4, 6
            QVERIFY2(steps.back().fixed && steps.back().fixed->bin_scheme == scheme, kind);
            QCOMPARE(shown.inspector.heatmapScheme(), QString::fromLatin1(scheme));
            const bool quantized = QLatin1String(scheme) == QLatin1String("grid");
            QCOMPARE(shown.inspector.levelsGraph() != nullptr, quantized);
            if (quantized) {
                QCOMPARE(steps.back().fixed->counts.size(), size_t{256});
            }
        }
    }

private:
    QTemporaryDir dir_;
    QString root_;
    int count_ = 0;
};

QTEST_MAIN(HistogramInspectorTest)
#include "histogram_inspector_test.moc"
