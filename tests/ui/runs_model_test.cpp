// The run browser's model and filter over a demo workspace written through lowbit_store: Qt's
// model tester on both, a running run whose engine pid is dead shown as killed, tags and notes
// edits reaching the database (read back with a raw connection), and the charts' data (NaN
// markers, floor lines) for the demo's diverged run.
#include "models/runs_model.h"

#include "lowbit/config/recipe_json.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <QAbstractItemModelTester>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <sqlite3.h>

#include "charts/charts_view.h"
#include "controllers/workspace_worker.h"
#include "demo/demo_workspace.h"
#include "models/runs_filter_proxy.h"

using namespace lowbit::ui;

namespace {

std::string queryText(const QString& root, const std::string& sql) {
    sqlite3* db = nullptr;
    const std::string file = (root + QStringLiteral("/runs.sqlite")).toStdString();
    sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt* stmt = nullptr;
    std::string text;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0)) {
        text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return text;
}

// A pid that surely belongs to no process: a child that has exited and been reaped.
qint64 deadPid() {
    QProcess child;
    child.start(QStringLiteral("/bin/true"));
    child.waitForFinished();
    return child.processId() > 0 ? child.processId() : 999999;
}

}  // namespace

class RunsModelTest : public QObject {
    Q_OBJECT

private Q_SLOTS:

    void initTestCase() {
        QVERIFY(dir_.isValid());
        DemoOptions options;
        options.steps = 300;
        options.with_running_run = true;
        QCOMPARE(write_demo_workspace(dir_.path().toStdString(), options), 4);
    }

    void modelAndProxyPassTheModelTester() {
        RunsModel model;
        RunsFilterProxy proxy;
        proxy.setSourceModel(&model);
        QAbstractItemModelTester model_tester(
            &model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester proxy_tester(
            &proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
        WorkspaceWorker worker(dir_.path());
        connect(&worker, &WorkspaceWorker::runsRead, &model, &RunsModel::setRuns);
        worker.open(0);
        QCOMPARE(model.rowCount(), 4);
        worker.poll();  // a second read updates rows in place
        QCOMPARE(model.rowCount(), 4);
        proxy.setFilterText(QStringLiteral("W4 diverged"));
        QCOMPARE(proxy.rowCount(), 1);
        QCOMPARE(proxy.index(0, RunsModel::kName).data().toString(), QStringLiteral("w4a4g4"));
        proxy.setFilterText(QString());
        proxy.sort(RunsModel::kBestValLoss, Qt::AscendingOrder);
        QCOMPARE(proxy.rowCount(), 4);
        model.setRuns({});
        QCOMPARE(model.rowCount(), 0);
    }

    void columnsShowTheRecipeBitsAndResults() {
        RunsModel model;
        WorkspaceWorker worker(dir_.path());
        connect(&worker, &WorkspaceWorker::runsRead, &model, &RunsModel::setRuns);
        worker.open(0);
        const int w8 = rowOfName(model, "w8a8g8");
        QVERIFY(w8 >= 0);
        // The demo's W8 run quantizes W, A and G to 8 bits and leaves the Adam moments in fp32.
        QCOMPARE(model.index(w8, RunsModel::kBits).data().toString(),
                 QStringLiteral("W8 A8 G8 m32 v32"));
        QCOMPARE(model.index(w8, RunsModel::kSteps).data().toString(), QStringLiteral("300 / 300"));
        // 300 steps of 4096 tokens.
        QCOMPARE(model.index(w8, RunsModel::kTokens).data(RunsModel::kSortRole).toLongLong(),
                 300 * 4096);
        const int running = rowOfName(model, "w8a8g8-long");
        QCOMPARE(model.index(running, RunsModel::kStatus).data().toString(),
                 QStringLiteral("running"));
    }

    // A qat run is labelled by the grid it packs to and counts its own steps (Block-AP and E2E-QP,
    // from its summary), not the recipe's train: section.
    void qatRunsShowTheirGridAndTheirOwnStepCount() {
        QTemporaryDir dir;
        namespace store = lowbit::store;
        namespace config = lowbit::config;
        store::Workspace workspace = store::Workspace::open(dir.path().toStdString());
        store::RunWriter writer(workspace);
        config::Recipe recipe;
        recipe.train.steps = 2000;  // what the row must not show
        recipe.qat.method = config::QatMethod::kGptq;
        recipe.qat.bits = 3;
        recipe.qat.group_size = 32;
        store::RunRecord record;
        record.name = "packed";
        record.kind = "qat";
        record.recipe_json = config::recipe_to_json(recipe).dump();
        record.summary_json = R"({"steps": 144})";
        const int64_t id = writer.create_run(record);
        writer.add_scalar({0, id, "train/loss", 100, 0, 0.0, 2.5});
        writer.flush();
        RunsModel model;
        WorkspaceWorker worker(dir.path());
        connect(&worker, &WorkspaceWorker::runsRead, &model, &RunsModel::setRuns);
        worker.open(0);
        const int row = rowOfName(model, "packed");
        QVERIFY(row >= 0);
        QCOMPARE(model.index(row, RunsModel::kBits).data().toString(),
                 QStringLiteral("W3 g32 gptq"));
        QCOMPARE(model.index(row, RunsModel::kSteps).data().toString(),
                 QStringLiteral("100 / 144"));
    }

    void liveRunResultsAreReadAgainOnlyAfterTheRefreshInterval() {
        // A running run of this process with losses at steps 1..10, then 11..20, then 21..30.
        QTemporaryDir dir;
        namespace store = lowbit::store;
        store::Workspace workspace = store::Workspace::open(dir.path().toStdString());
        store::RunWriter writer(workspace);
        store::RunRecord record;
        record.name = "live";
        record.kind = "train";
        record.recipe_json = "{}";
        record.summary_json = "{}";
        const int64_t id = writer.create_run(record);
        writer.set_status(id, store::RunStatus::kRunning);
        writer.attach_process(id);
        int64_t step = 0;
        auto addSteps = [&](int count) {
            for (int i = 0; i < count; ++i) {
                ++step;
                writer.add_scalar({0, id, "train/loss", step, step * 8, 0.0, 3.0});
            }
            writer.flush();
        };
        addSteps(10);
        store::Workspace reading =
            store::Workspace::open(dir.path().toStdString(), store::OpenMode::kReadOnly);
        const store::RunReader reader(reading);
        store::LivenessCheck check = store::LivenessCheck::here();
        const auto first = read_run_rows(reader, check, {}, 5.0);
        QCOMPARE(first.size(), size_t(1));
        QCOMPARE(first[0].steps_done, int64_t(10));
        // 1 s later (< 5 s): the results are reused, the status is observed again.
        addSteps(10);
        check.now += 1;
        const auto second = read_run_rows(reader, check, first, 5.0);
        QCOMPARE(second[0].steps_done, int64_t(10));
        QCOMPARE(second[0].observed, store::RunStatus::kRunning);
        // 6 s after they were read: read again.
        check.now += 5;
        const auto third = read_run_rows(reader, check, second, 5.0);
        QCOMPARE(third[0].steps_done, int64_t(20));
        // A status change reads them at once; without an interval every read derives them.
        addSteps(10);
        writer.set_status(id, store::RunStatus::kCompleted);
        check.now += 1;
        QCOMPARE(read_run_rows(reader, check, third, 5.0)[0].steps_done, int64_t(30));
        QCOMPARE(read_run_rows(reader, check, third)[0].steps_done, int64_t(30));
    }

    void runningRunWithDeadPidIsShownKilled() {
        const std::string id =
            queryText(dir_.path(), "SELECT id FROM runs WHERE name = 'w8a8g8-long'");
        queryText(dir_.path(),
                  "UPDATE runs SET pid = " + std::to_string(deadPid()) + " WHERE id = " + id +
                      " RETURNING id");
        RunsModel model;
        WorkspaceWorker worker(dir_.path());
        connect(&worker, &WorkspaceWorker::runsRead, &model, &RunsModel::setRuns);
        worker.open(0);
        const int row = rowOfName(model, "w8a8g8-long");
        QCOMPARE(model.index(row, RunsModel::kStatus).data().toString(), QStringLiteral("killed"));
        // The stored status is untouched: the GUI only observes.
        QCOMPARE(queryText(dir_.path(), "SELECT status FROM runs WHERE id = " + id),
                 std::string("running"));
    }

    void tagAndNoteEditsReachTheDatabase() {
        RunsModel model;
        WorkspaceWorker worker(dir_.path());
        connect(&worker, &WorkspaceWorker::runsRead, &model, &RunsModel::setRuns);
        connect(&model, &RunsModel::annotationEdited, &worker, &WorkspaceWorker::writeAnnotation);
        QSignalSpy written(&worker, &WorkspaceWorker::annotationWritten);
        worker.open(0);
        const int row = rowOfName(model, "baseline-fp32");
        const qint64 id = model.index(row, 0).data(RunsModel::kRunIdRole).toLongLong();
        QVERIFY(model.setData(
            model.index(row, RunsModel::kTags), QStringLiteral("fp32, reference"), Qt::EditRole));
        QVERIFY(model.setData(
            model.index(row, RunsModel::kNotes), QStringLiteral("the run to beat"), Qt::EditRole));
        QCOMPARE(written.count(), 2);
        const std::string where = " FROM runs WHERE id = " + std::to_string(id);
        QCOMPARE(queryText(dir_.path(), "SELECT tags" + where), std::string("fp32, reference"));
        QCOMPARE(queryText(dir_.path(), "SELECT notes" + where), std::string("the run to beat"));
        // And read back into the model by the next poll.
        const int again = rowOfName(model, "baseline-fp32");
        QCOMPARE(model.index(again, RunsModel::kTags).data().toString(),
                 QStringLiteral("fp32, reference"));
    }

    void chartsShowNanMarkersFloorAndEvents() {
        RunsModel model;
        ChartsView view(&model);
        WorkspaceWorker worker(dir_.path());
        connect(&worker, &WorkspaceWorker::runsRead, &model, &RunsModel::setRuns);
        connect(&worker, &WorkspaceWorker::chartsRead, &view, &ChartsView::onChartsRead);
        worker.open(0);
        const int row = rowOfName(model, "w4a4g4");
        const qint64 id = model.index(row, 0).data(RunsModel::kRunIdRole).toLongLong();
        worker.setVisibleRuns({id});
        ScalarChart* loss = view.chart(QStringLiteral("train/loss"));
        QVERIFY(loss);
        // The demo's W4 run diverges at step 3/4 * 300 = 225: one NaN loss, then it stops.
        QCOMPARE(loss->nonFiniteMarkerCount(), 1);
        QCOMPARE(loss->floorLineCount(), 1);
        // Checkpoints at 200, evals at 100 and 200, the diverged event at 225.
        QCOMPARE(loss->eventMarkerCount(), 4);
        QCOMPARE(loss->chartData().runs.size(), size_t{1});
        QCOMPARE(loss->chartData().runs[0].full_points, size_t{225});
        // Replots are coalesced: many updates within 40 ms give one replot.
        const int before = loss->replotCount();
        for (int i = 0; i < 20; ++i) {
            loss->requestReplot();
        }
        QTRY_COMPARE(loss->replotCount(), before + 1);
    }

private:
    static int rowOfName(const RunsModel& model, const char* name) {
        for (int r = 0; r < model.rowCount(); ++r) {
            if (model.index(r, RunsModel::kName).data().toString() == QLatin1String(name)) {
                return r;
            }
        }
        return -1;
    }

    QTemporaryDir dir_;
};

QTEST_MAIN(RunsModelTest)
#include "runs_model_test.moc"
