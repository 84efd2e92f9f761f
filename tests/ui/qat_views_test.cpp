// The EfficientQAT views over a workspace written here through RunWriter: a GPT-2 source run and
// its qat runs (RTN, GPTQ, Block-AP, Block-AP + E2E-QP at two grids), with hand-placed block_ap
// rows, finished-block files, phases and perplexities.
// - The results table: FP first, then the grids (most bits first) in method order; one column per
//   corpus ("val" first); the FP row's block linears in fp32 are 4 bytes per weight the qat runs
//   packed; a double-click opens the row's run.
// - The phase view: each heatmap cell is log10 of that block and epoch's MSE (validation, or
//   training when chosen), empty where nothing is recorded yet; the timeline holds every epoch's
//   validation MSE at its step and the E2E-QP losses, a marker where E2E-QP and evaluation begin;
//   the bars are the seconds between finished blocks and the memory their largest epoch's.
// - The editor's EfficientQAT mode: the qat sections only, a source picker that sets qat.source,
//   the packed footprint worked out by hand, and Launch asking for `lowbit qat`.
#include "lowbit/config/recipe_json.h"
#include "lowbit/config/recipe_yaml.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <QComboBox>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <string>
#include <vector>

#include "charts/qcustomplot_include.h"
#include "editor/experiment_editor.h"
#include "editor/recipe_form.h"
#include "main_window.h"
#include "qat/qat_phase_view.h"
#include "qat/qat_results_model.h"
#include "qat/qat_results_view.h"

using namespace lowbit;
using namespace lowbit::ui;

namespace {

// The source: GPT-2, 2 blocks, d_model 64 (d_ff 256). Block linears per block: qkv 64x192,
// attn_out 64x64, fc1 64x256, fc2 256x64 = 49152 weights; 98304 in the model.
constexpr int64_t kBlockWeights = 2 * (64 * 192 + 64 * 64 + 64 * 256 + 256 * 64);
static_assert(kBlockWeights == 98304);

config::Recipe sourceRecipe() {
    return config::parse_recipe_yaml(
        "name: src\nmodel: {family: gpt2, layers: 2, heads: 2, d_model: 64, context: 64}\n", "src");
}

std::string qatRecipe(config::QatMethod method, int bits, int group, int e2e_epochs) {
    config::Recipe recipe = sourceRecipe();
    recipe.qat.source = "1";
    recipe.qat.method = method;
    recipe.qat.bits = bits;
    recipe.qat.group_size = group;
    recipe.qat.block_ap.epochs = 2;
    recipe.qat.e2e_qp.epochs = e2e_epochs;
    return config::recipe_to_json(recipe).dump();
}

struct Workspace {
    QTemporaryDir dir;
    int64_t source = 0;
    int64_t rtn4 = 0, gptq4 = 0, blockap4 = 0, efficientqat4 = 0, rtn2 = 0, efficientqat2 = 0;

    QString root() const {
        return dir.path();
    }
};

int64_t addQatRun(store::RunWriter& writer,
                  int64_t source,
                  const char* name,
                  const std::string& recipe_json,
                  double val_ppl,
                  double test_ppl,
                  int64_t packed_bytes) {
    store::RunRecord record;
    record.name = name;
    record.kind = "qat";
    record.recipe_json = recipe_json;
    record.parent_run_id = source;
    const int64_t id = writer.create_run(record);
    writer.add_scalar({0, id, "eval/val/ppl", 100, 0, 1.0, val_ppl});
    writer.add_scalar({0, id, "eval/test/ppl", 100, 0, 1.0, test_ppl});
    writer.flush();
    writer.set_summary(id,
                       nlohmann::json{{"bits_per_param", 8.0 * packed_bytes / kBlockWeights},
                                      {"packed_bytes", packed_bytes},
                                      {"packed_weights", kBlockWeights},
                                      {"elapsed_s", 120.0},
                                      {"peak_rss_bytes", int64_t{1} << 30}}
                           .dump());
    writer.set_status(id, store::RunStatus::kCompleted);
    return id;
}

// A completed training run "src" of sourceRecipe(): the model the qat runs quantize.
int64_t addSourceRun(store::RunWriter& writer) {
    store::RunRecord source;
    source.name = "src";
    source.kind = "train";
    source.recipe_json = config::recipe_to_json(sourceRecipe()).dump();
    const int64_t id = writer.create_run(source);
    writer.set_status(id, store::RunStatus::kCompleted);
    return id;
}

void fill(Workspace& ws) {
    auto workspace = store::Workspace::open(ws.root().toStdString());
    store::RunWriter writer(workspace);
    ws.source = addSourceRun(writer);
    writer.add_scalar({0, ws.source, "eval/val/ppl", 500, 0, 1.0, 20.0});
    writer.add_scalar({0, ws.source, "eval/test/ppl", 500, 0, 1.0, 30.0});
    writer.flush();
    using config::QatMethod;
    // Created in an order unlike the table's.
    ws.efficientqat2 = addQatRun(
        writer, ws.source, "e2", qatRecipe(QatMethod::kEfficientQat, 2, 64, 1), 40, 60, 30000);
    ws.rtn4 =
        addQatRun(writer, ws.source, "r4", qatRecipe(QatMethod::kRtn, 4, 64, 1), 25, 35, 55000);
    ws.efficientqat4 = addQatRun(
        writer, ws.source, "e4", qatRecipe(QatMethod::kEfficientQat, 4, 64, 1), 21, 31, 55000);
    ws.gptq4 =
        addQatRun(writer, ws.source, "g4", qatRecipe(QatMethod::kGptq, 4, 64, 1), 23, 33, 55000);
    ws.blockap4 = addQatRun(
        writer, ws.source, "b4", qatRecipe(QatMethod::kEfficientQat, 4, 64, 0), 22, 32, 55000);
    ws.rtn2 =
        addQatRun(writer, ws.source, "r2", qatRecipe(QatMethod::kRtn, 2, 64, 1), 90, 120, 30000);

    // The phases of e4: 2 blocks x 2 epochs of 10 steps, then 4 E2E-QP steps; block 1's second
    // epoch recorded a NaN training loss.
    const int64_t run = ws.efficientqat4;
    writer.add_event({0, run, 0, 1000.0, "phase", "block_ap, 2 blocks, 40 steps"});
    for (int64_t block = 0; block < 2; ++block) {
        for (int epoch = 1; epoch <= 2; ++epoch) {
            store::BlockApRecord row;
            row.run_id = run;
            row.step = block * 20 + epoch * 10;
            row.block = block;
            row.epoch = epoch;
            row.train_loss = block == 1 && epoch == 2 ? std::nan("") : 0.01 * (block + 1) / epoch;
            row.val_loss = 0.02 * (block + 1) / epoch;
            row.seconds = 2;
            row.peak_memory_bytes = (100 + 10 * block + epoch) << 20;
            writer.add_block_ap(row);
        }
        writer.add_checkpoint({0,
                               run,
                               (block + 1) * 20,
                               "block",
                               "runs/x/block-" + std::to_string(block),
                               1,
                               "",
                               1000.0 + 5.0 * static_cast<double>(block + 1) * (block + 1)});
    }
    writer.add_event({0, run, 40, 1100.0, "phase", "e2e_qp, 2 blocks, 4 steps"});
    for (int64_t step = 41; step <= 44; ++step) {
        writer.add_scalar(
            {0, run, "train/loss", step, 0, 1.0, 3.0 - 0.1 * static_cast<double>(step - 40)});
    }
    writer.add_event({0, run, 44, 1200.0, "phase", "eval, 2 blocks"});
    writer.flush();
    writer.set_summary(run,
                       nlohmann::json{{"blocks", 2},
                                      {"world_size", 2},  // a data-parallel run
                                      {"bits_per_param", 8.0 * 55000 / kBlockWeights},
                                      {"packed_bytes", 55000},
                                      {"packed_weights", kBlockWeights}}
                           .dump());
}

}  // namespace

class QatViewsTest : public QObject {
    Q_OBJECT

private Q_SLOTS:

    void initTestCase() {
        QVERIFY(ws_.dir.isValid());
        fill(ws_);
    }

    void resultsTableOrdersRowsAndColumns() {
        auto workspace =
            store::Workspace::open(ws_.root().toStdString(), store::OpenMode::kReadOnly);
        const store::RunReader reader(workspace);
        const auto sources = qat_sources(reader);
        QCOMPARE(sources.size(), size_t{1});
        QCOMPARE(sources.front().first, ws_.source);
        const QatResults results = read_qat_results(reader, ws_.source);
        QCOMPARE(results.corpora, (std::vector<std::string>{"val", "test"}));
        std::vector<int64_t> order;
        std::vector<std::string> methods;
        for (const QatResultRow& row : results.rows) {
            order.push_back(row.run_id);
            methods.push_back(row.method);
        }
        QCOMPARE(order,
                 (std::vector<int64_t>{ws_.source,
                                       ws_.rtn4,
                                       ws_.gptq4,
                                       ws_.blockap4,
                                       ws_.efficientqat4,
                                       ws_.rtn2,
                                       ws_.efficientqat2}));
        QCOMPARE(
            methods,
            (std::vector<std::string>{
                "FP", "RTN", "GPTQ", "Block-AP", "Block-AP + E2E-QP", "RTN", "Block-AP + E2E-QP"}));
        QCOMPARE(results.rows.front().packed_bytes, std::optional<int64_t>(4 * kBlockWeights));
        QCOMPARE(results.rows.front().perplexity.at("test"), 30.0);

        QatResultsModel model;
        model.setResults(results);
        QCOMPARE(model.columnCount(), 2 + 2 + 5);
        const int test = model.perplexityColumn("test");
        QCOMPARE(test, 3);
        QCOMPARE(model.headerData(2, Qt::Horizontal, Qt::DisplayRole).toString(),
                 QStringLiteral("Held-out ppl"));
        QCOMPARE(model.index(4, test).data().toString(), QStringLiteral("31.00"));
        QCOMPARE(model.index(4, test).data(QatResultsModel::kSortRole).toDouble(), 31.0);
        QCOMPARE(model.index(5, 0).data().toString(), QStringLiteral("w2g64"));
        QCOMPARE(model.index(0, 0).data().toString(), QStringLiteral("fp32"));
        // bits/weight: 8 x 55000 / 98304.
        QCOMPARE(model.index(1, 4).data().toString(), QString::number(8.0 * 55000 / 98304, 'f', 3));
    }

    void doubleClickOpensTheRowsRun() {
        QatResultsView view;
        view.setWorkspace(ws_.root());
        QCOMPARE(view.source(), ws_.source);
        QCOMPARE(view.model()->rowCount(), 7);
        QSignalSpy opened(&view, &QatResultsView::runActivated);
        const QModelIndex gptq = view.table()->model()->index(2, 1);
        QCOMPARE(gptq.data().toString(), QStringLiteral("GPTQ"));
        Q_EMIT view.table()->doubleClicked(gptq);
        QCOMPARE(opened.count(), 1);
        QCOMPARE(opened.front().front().toLongLong(), ws_.gptq4);
    }

    void phaseViewDrawsWhatTheRunRecorded() {
        QatPhaseView view(nullptr);
        view.setWorkspace(ws_.root());
        view.setRun(ws_.efficientqat4);
        const QatPhaseData& data = view.data();
        QCOMPARE(data.blocks, int64_t{2});
        QCOMPARE(data.epochs, 2);
        QCOMPARE(data.method, std::string("Block-AP + E2E-QP"));
        // Heatmap: validation MSE 0.02 (block + 1) / epoch, as log10.
        QCPColorMapData* cells = view.heatmap()->data();
        QCOMPARE(cells->keySize(), 2);
        QCOMPARE(cells->valueSize(), 2);
        QVERIFY(std::abs(cells->cell(1, 0) - std::log10(0.04)) < 1e-12);
        QVERIFY(std::abs(cells->cell(0, 1) - std::log10(0.01)) < 1e-12);
        view.lossBox()->setCurrentIndex(1);  // training MSE
        QVERIFY(std::abs(view.heatmap()->data()->cell(0, 0) - std::log10(0.01)) < 1e-12);
        QVERIFY(std::isnan(view.heatmap()->data()->cell(1, 1)));  // the NaN loss: an empty cell

        // Timeline: 4 epochs' validation MSE at steps 10, 20, 30, 40; E2E-QP at 41..44.
        QCOMPARE(view.blockLossGraph()->data()->size(), 4);
        QCOMPARE(view.blockLossGraph()->data()->at(2)->key, 30.0);
        QCOMPARE(view.blockLossGraph()->data()->at(2)->value, 0.04);
        QCOMPARE(view.e2eLossGraph()->data()->size(), 4);
        QCOMPARE(view.e2eLossGraph()->data()->at(3)->value, 2.6);
        QCOMPARE(view.markers().size(), size_t{2});
        QCOMPARE(view.markers()[0].step, int64_t{40});
        QCOMPARE(view.markers()[0].name, std::string("e2e_qp"));
        // Bars: block 0 finished 5 s after the phase began, block 1 15 s after block 0; memory
        // the largest epoch's (102 and 112 MiB).
        QCOMPARE(view.blockSecondsBars()->data()->size(), 2);
        QCOMPARE(view.blockSecondsBars()->data()->at(0)->value, 5.0);
        QCOMPARE(view.blockSecondsBars()->data()->at(1)->value, 15.0);
        QCOMPARE(view.blockMemoryGraph()->data()->at(1)->value, 112.0);
        QVERIFY(view.summaryLabel()->text().contains(
            QStringLiteral("2 of 2 blocks finished on 2 ranks;")));
        // A finished run says how it ended, not the phase it was last in.
        QVERIFY(view.summaryLabel()->text().endsWith(QStringLiteral("; completed")));
        QVERIFY(!view.summaryLabel()->text().contains(QStringLiteral("phase:")));

        // A run without Block-AP epochs (RTN) draws no heatmap cells and no timeline points.
        view.setRun(ws_.rtn4);
        QCOMPARE(view.data().epochs, 0);
        QVERIFY(!view.summaryLabel()->text().contains(QStringLiteral("ranks")));  // one process
        QCOMPARE(view.blockLossGraph()->data()->size(), 0);
    }

    // A QAT run that ends while the studio is open appears in the results table without a
    // manual refresh, once the workspace poll sees it.
    void resultsFollowTheWorkspaceAsQatRunsEnd() {
        QTemporaryDir dir;
        int64_t source = 0;
        {
            auto workspace = store::Workspace::open(dir.path().toStdString());
            store::RunWriter writer(workspace);
            source = addSourceRun(writer);
        }
        MainWindow window;
        window.openWorkspace(dir.path());
        const QatResultsModel* model = window.qatResults()->model();
        auto shows = [model](int64_t run) {
            for (int row = 0; row < model->rowCount(); ++row) {
                if (model->index(row, 0).data(QatResultsModel::kRunIdRole).toLongLong() == run) {
                    return true;
                }
            }
            return false;
        };
        int64_t qat = 0;
        {
            auto workspace = store::Workspace::open(dir.path().toStdString());
            store::RunWriter writer(workspace);
            qat = addQatRun(
                writer, source, "r4", qatRecipe(config::QatMethod::kRtn, 4, 64, 1), 25, 35, 55000);
        }
        QVERIFY(!shows(qat));
        QTRY_VERIFY_WITH_TIMEOUT(shows(qat), 10000);
    }

    void editorQatModeSetsTheSourceAndLaunchesQat() {
        ExperimentEditor editor;
        QTemporaryDir launches;
        editor.setLaunchFolder(launches.path());
        QVERIFY(editor.loadRecipeFile(QStringLiteral(":/lowbit/presets/efficientqat/w4g128.yaml")));
        QVERIFY(editor.qatMode());
        QVERIFY(editor.form()->sectionBox("qat.block_ap")->isVisibleTo(&editor));
        QVERIFY(!editor.form()->sectionBox("model")->isVisibleTo(&editor));
        editor.setSourceModels({{ws_.source, QStringLiteral("src"), sourceRecipe()}});
        QVERIFY(editor.setQatSource(ws_.source));
        QVERIFY(editor.recipe().has_value());
        QCOMPARE(editor.recipe()->qat.source, std::to_string(ws_.source));
        // Group 128 does not divide d_model 64.
        QVERIFY(editor.packedFootprint().has_value());
        QVERIFY(!editor.packedFootprint()->misfit.empty());
        QVERIFY(editor.form()->setValueText("qat.group_size", QStringLiteral("32")));
        editor.syncFromForm();
        // By hand, 4 bits, groups of 32, per block: qweight in*out/2, qzeros (in/32)*out/2,
        // fp16 steps (in/32)*out*2, g_idx in*4 bytes, for qkv, attn_out, fc1 (in 64) and fc2 (in
        // 256): 2 blocks.
        auto linear = [](int64_t in, int64_t out) {
            return in * out / 2 + (in / 32) * out / 2 + (in / 32) * out * 2 + in * 4;
        };
        const int64_t expected =
            2 * (linear(64, 192) + linear(64, 64) + linear(64, 256) + linear(256, 64));
        QVERIFY(editor.packedFootprint().has_value());
        QVERIFY(editor.packedFootprint()->misfit.empty());
        QCOMPARE(editor.packedFootprint()->packed_bytes, expected);
        QCOMPARE(editor.packedFootprint()->weights, kBlockWeights);
        QCOMPARE(editor.packedFootprint()->fp32_bytes, 4 * kBlockWeights);

        QSignalSpy qat(&editor, &ExperimentEditor::qatLaunchRequested);
        QSignalSpy train(&editor, &ExperimentEditor::launchRequested);
        QVERIFY(editor.launch());
        QCOMPARE(qat.count(), 1);
        QCOMPARE(train.count(), 0);
        const config::Recipe launched =
            config::load_recipe_file(qat.front().front().toString().toStdString(), {});
        QCOMPARE(launched.qat.group_size, 32);
        QCOMPARE(launched.qat.source, std::to_string(ws_.source));

        // A pretraining preset leaves EfficientQAT mode.
        QVERIFY(
            editor.loadRecipeFile(QStringLiteral(":/lowbit/presets/pretrain/gpt2/w8a8g8.yaml")));
        QVERIFY(!editor.qatMode());
        QVERIFY(editor.form()->sectionBox("model")->isVisibleTo(&editor));
        QVERIFY(!editor.form()->sectionBox("qat")->isVisibleTo(&editor));
    }

private:
    Workspace ws_;
};

QTEST_MAIN(QatViewsTest)
#include "qat_views_test.moc"
