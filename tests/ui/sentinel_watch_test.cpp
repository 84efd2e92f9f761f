// The divergence sentinel in the studio, against workspaces written here through RunWriter: a
// running run with a NaN and a clipping quantizer gets one stored alert per rule (read back with
// SQL), a clean running run and a finished run get none, a reopened studio does not raise stored
// alerts again, the workspace worker reports stored alerts and draws them as chart markers, the
// alerts model passes QAbstractItemModelTester, and the rules survive the settings round trip.
#include "diagnose/sentinel_watch.h"

#include "lowbit/store/run_alerts.h"
#include "lowbit/store/run_liveness.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>
#include <sqlite3.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "controllers/workspace_worker.h"
#include "diagnose/sentinel_settings.h"
#include "models/alerts_model.h"

using namespace lowbit;
using namespace lowbit::ui;

namespace {

int64_t newRun(store::RunWriter& writer, const char* name, store::RunStatus status) {
    store::RunRecord record;
    record.name = name;
    record.kind = "train";
    record.recipe_json = "{}";
    const int64_t id = writer.create_run(record);
    writer.set_status(id, status);
    if (status == store::RunStatus::kRunning) {
        writer.attach_process(id);  // this test's pid: alive, so the run reads as running
    }
    return id;
}

void addLosses(store::RunWriter& writer, int64_t run, int64_t from, int64_t to, double nan_at) {
    for (int64_t step = from; step <= to; ++step) {
        store::ScalarPoint p;
        p.run_id = run;
        p.key = "train/loss";
        p.step = step;
        p.value = step == nan_at ? std::nan("") : 3.0 - 0.01 * static_cast<double>(step);
        writer.add_scalar(p);
    }
    writer.flush();
}

// (run_id, rule, step, subject) of every stored alert, by SQL.
std::vector<std::tuple<int64_t, std::string, int64_t, std::string>> storedAlerts(
    const QString& root) {
    sqlite3* db = nullptr;
    const std::string path = (root + QStringLiteral("/runs.sqlite")).toStdString();
    std::vector<std::tuple<int64_t, std::string, int64_t, std::string>> rows;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        sqlite3_close(db);
        return rows;
    }
    sqlite3_stmt* query = nullptr;
    sqlite3_prepare_v2(
        db, "SELECT run_id, rule, step, subject FROM run_alerts ORDER BY id", -1, &query, nullptr);
    while (query && sqlite3_step(query) == SQLITE_ROW) {
        rows.emplace_back(sqlite3_column_int64(query, 0),
                          reinterpret_cast<const char*>(sqlite3_column_text(query, 1)),
                          sqlite3_column_int64(query, 2),
                          reinterpret_cast<const char*>(sqlite3_column_text(query, 3)));
    }
    sqlite3_finalize(query);
    sqlite3_close(db);
    return rows;
}

std::vector<store::AlertRecord> pollOnce(SentinelWatch& watch, const QString& root) {
    auto workspace = store::Workspace::open(root.toStdString(), store::OpenMode::kReadOnly);
    store::RunReader reader(workspace);
    const auto rows = read_run_rows(reader, store::LivenessCheck::here());
    return watch.poll(workspace, reader, rows);
}

}  // namespace

class SentinelWatchTest : public QObject {
    Q_OBJECT

private Q_SLOTS:

    void init() {
        QVERIFY(dir_.isValid());
        root_ = dir_.path() + QStringLiteral("/ws-") + QString::number(++count_);
    }

    void nanAndClipInARunningRunAreStoredOnce() {
        int64_t sick = 0;
        {
            auto workspace = store::Workspace::open(root_.toStdString());
            store::RunWriter writer(workspace);
            sick = newRun(writer, "sick", store::RunStatus::kRunning);
            // A clean running run and a finished one with a NaN (not live: not watched) must add
            // nothing to the alerts listed below.
            const int64_t clean = newRun(writer, "clean", store::RunStatus::kRunning);
            const int64_t finished = newRun(writer, "finished", store::RunStatus::kCompleted);
            addLosses(writer, sick, 1, 40, 31);
            addLosses(writer, clean, 1, 40, -1);
            addLosses(writer, finished, 1, 40, 12);
            store::TensorStatsRecord stats;
            stats.run_id = sick;
            stats.step = 20;
            stats.layer = "blocks.0.mlp.fc";
            stats.tensor_kind = "A";
            stats.quantizer = R"({"bits":4})";
            stats.clip_fraction = 0.25;
            writer.add_tensor_stats(stats);
            writer.flush();
        }
        SentinelWatch watch;
        const auto raised = pollOnce(watch, root_);
        QCOMPARE(raised.size(), size_t{2});
        using Row = std::tuple<int64_t, std::string, int64_t, std::string>;
        const std::vector<Row> expected = {Row{sick, "non_finite", 31, "train/loss"},
                                           Row{sick, "clip", 20, "blocks.0.mlp.fc A"}};
        QCOMPARE(storedAlerts(root_), expected);
        QCOMPARE(raised[0].row_id, int64_t{1});

        // More rows with another NaN: the rule already fired for this run.
        {
            auto workspace = store::Workspace::open(root_.toStdString());
            store::RunWriter writer(workspace);
            addLosses(writer, sick, 41, 45, 44);
        }
        QVERIFY(pollOnce(watch, root_).empty());
        // A reopened studio (a new watch) reads the run from the start and raises nothing new.
        SentinelWatch reopened;
        QVERIFY(pollOnce(reopened, root_).empty());
        QCOMPARE(storedAlerts(root_).size(), size_t{2});
    }

    void workerReportsStoredAlertsAndDrawsThemAsMarkers() {
        int64_t run = 0;
        {
            auto workspace = store::Workspace::open(root_.toStdString());
            store::RunWriter writer(workspace);
            run = newRun(writer, "r", store::RunStatus::kCompleted);
            addLosses(writer, run, 1, 20, -1);
            store::AlertRecord alert;
            alert.run_id = run;
            alert.step = 7;
            alert.rule = "loss_spike";
            alert.subject = "train/loss";
            alert.value = 9.5;
            alert.threshold = 3.25;
            alert.message = "spike";
            alert.created_at = 1.7e9;
            QCOMPARE(store::add_run_alert(workspace, alert), int64_t{1});
        }
        WorkspaceWorker worker(root_);
        QSignalSpy alerts(&worker, &WorkspaceWorker::alertsRead);
        QSignalSpy charts(&worker, &WorkspaceWorker::chartsRead);
        worker.open(0);
        worker.setVisibleRuns({run});
        QCOMPARE(alerts.count(), 1);
        const auto reported = alerts.at(0).at(0).value<std::vector<store::AlertRecord>>();
        QCOMPARE(alerts.at(0).at(1).toBool(), false);
        QCOMPARE(reported.size(), size_t{1});
        QCOMPARE(reported[0].step, int64_t{7});
        QCOMPARE(*reported[0].threshold, 3.25);
        // The chart of train/loss carries the alert as a marker at its step.
        bool marked = false;
        for (const auto& call : charts) {
            for (const auto& chart : call.at(0).value<std::vector<ChartData>>()) {
                for (const auto& series : chart.runs) {
                    for (const auto& mark : series.events) {
                        marked |= mark.kind == QLatin1String("alert") && mark.x == 7.0;
                    }
                }
            }
        }
        QVERIFY(marked);

        AlertsModel model(nullptr);
        QAbstractItemModelTester tester(&model);
        model.addAlerts(reported);
        model.addAlerts(reported);  // listed once
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.data(model.index(0, AlertsModel::kStep)).toLongLong(), 7LL);
        QCOMPARE(model.data(model.index(0, AlertsModel::kRule)).toString(),
                 QStringLiteral("loss_spike"));
        model.clear();
        QCOMPARE(model.rowCount(), 0);
    }

    void alertOfAnUnknownRunIsRefused() {
        auto workspace = store::Workspace::open(root_.toStdString());
        store::AlertRecord alert;
        alert.run_id = 42;
        alert.rule = "clip";
        try {
            store::add_run_alert(workspace, alert);
            QFAIL("an alert of a run that does not exist was recorded");
        } catch (const store::StoreError& error) {
            QVERIFY(error.is_bad_input());
            QVERIFY(QString::fromUtf8(error.what()).contains(QStringLiteral("run 42")));
        }
    }

    void rulesSurviveTheSettingsRoundTrip() {
        QSettings settings(dir_.path() + QStringLiteral("/settings.ini"), QSettings::IniFormat);
        SentinelRules rules;
        rules.loss_spike = false;
        rules.spike_sigmas = 4.5;
        rules.window = 25;
        rules.underflow = true;
        rules.underflow_fraction = 0.3;
        rules.stop_run = true;
        save_sentinel_rules(settings, rules);
        QVERIFY(load_sentinel_rules(settings) == rules);
        // Out-of-range values written by hand fall back to the defaults.
        settings.setValue(QStringLiteral("sentinel/window"), 2);
        settings.setValue(QStringLiteral("sentinel/spike_sigmas"), -1);
        const SentinelRules loaded = load_sentinel_rules(settings);
        QCOMPARE(loaded.window, SentinelRules{}.window);
        QCOMPARE(loaded.spike_sigmas, SentinelRules{}.spike_sigmas);
        SentinelSettingsDialog dialog(rules);
        QVERIFY(dialog.rules() == rules);
    }

private:
    QTemporaryDir dir_;
    QString root_;
    int count_ = 0;
};

QTEST_MAIN(SentinelWatchTest)
#include "sentinel_watch_test.moc"
