// The run launcher with the real engine (LOWBIT_ENGINE_BINARY: the `lowbit` executable), offscreen:
// a tiny recipe launched from RunLauncher streams one Step event per optimizer step, ends
// `completed` and appears in the runs model; SIGTERM leaves it `stopped` with a checkpoint and a
// resume continues it to `completed`; the editor's parameter count equals the engine's; an engine
// killed with SIGKILL leaves the event loop turning and the run shown as killed with its stderr in
// the launch panel, also for a launcher created afterwards over the same workspace (a restarted
// studio); a bad recipe ends as "failed to start" with the message lowbit_config gives for the same
// file; a fork launched from the editor starts at its checkpoint, records its parent and carries
// the edited bit-widths; an EfficientQAT run launched from the editor is followed live by the phase
// view and joins the results table.
#include "lowbit/config/recipe_json.h"
#include "lowbit/config/recipe_yaml.h"
#include "lowbit/store/open_for_reading.h"
#include "lowbit/store/run_reader.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <algorithm>
#include <cmath>

#include "charts/qcustomplot_include.h"
#include "controllers/run_launcher.h"
#include "controllers/workspace_worker.h"
#include "editor/experiment_editor.h"
#include "editor/recipe_form.h"
#include "models/recipe_footprint.h"
#include "models/runs_model.h"
#include "qat/qat_phase_view.h"
#include "qat/qat_results_model.h"
#include "qat/qat_results_view.h"
#include "widgets/launch_panel.h"
#include <signal.h>

using namespace lowbit::ui;

namespace {

constexpr int kRunTimeoutMs = 240000;  // a tiny run takes seconds; the machine may be busy
constexpr int kLivePollMs = 5;         // how often a test reads a run that is being written

// 30 optimizer steps of a one-layer GPT-2 on builtin:markov, evaluated and checkpointed every 10.
const char* const kTinyRecipe =
    "name: tiny\n"
    "seed: 3\n"
    "model: {family: gpt2, layers: 1, heads: 2, d_model: 32, context: 32}\n"
    "data: {train: builtin:markov, markov: {tokens: 20000}}\n"
    "train: {steps: 30, batch_size: 4, warmup_steps: 5, eval_every: 10, eval_batches: 2,\n"
    "        checkpoint_every: 10, device: cpu, threads: 1}\n"
    "telemetry: {every: 0}\n";

QString writeFile(const QString& path, const QByteArray& text) {
    QFile file(path);
    if (file.open(QIODevice::WriteOnly)) {
        file.write(text);
    }
    return path;
}

// The id of the newest run of `kind` ("train", "qat", ...) in the workspace; 0 when it has none.
qint64 newestRunOfKind(const QString& workspace, const std::string& kind) {
    const auto opened = lowbit::store::open_for_reading(workspace.toStdString());
    const lowbit::store::RunReader reader(opened);
    for (const lowbit::store::RunRecord& record : reader.list_runs()) {
        if (record.kind == kind) {
            return record.id;
        }
    }
    return 0;
}

QString readFile(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()) : QString();
}

// The runs model of `workspace` after one synchronous read.
struct RunsSnapshot {
    explicit RunsSnapshot(const QString& workspace) : worker(workspace) {
        QObject::connect(&worker, &WorkspaceWorker::runsRead, &model, &RunsModel::setRuns);
        QObject::connect(&worker, &WorkspaceWorker::failed, [this](const QString& message) {
            failure = message;
        });
        worker.open(0);
    }

    QString status(qint64 run_id) const {
        for (int row = 0; row < model.rowCount(); ++row) {
            if (model.index(row, RunsModel::kStatus).data(RunsModel::kRunIdRole).toLongLong() ==
                run_id) {
                return model.index(row, RunsModel::kStatus).data().toString();
            }
        }
        return QStringLiteral("<not in the model> ") + failure;
    }

    const RunRow* row(qint64 run_id) const {
        return model.run(run_id);
    }

    QString failure;
    RunsModel model;
    WorkspaceWorker worker;
};

QString panelState(const LaunchPanel& panel, int launch_id) {
    for (int row = 0; row < panel.queue()->rowCount(); ++row) {
        if (panel.queue()->item(row, 0)->text().toInt() == launch_id) {
            return panel.queue()->item(row, 3)->text();
        }
    }
    return QStringLiteral("<not in the panel>");
}

}  // namespace

class LauncherEngineTest : public QObject {
    Q_OBJECT

private Q_SLOTS:

    void initTestCase() {
        engine_ = qEnvironmentVariable("LOWBIT_ENGINE_BINARY");
        QVERIFY2(QFileInfo(engine_).isExecutable(),
                 "LOWBIT_ENGINE_BINARY must name the lowbit executable");
        QVERIFY(dir_.isValid());
        recipe_ = writeFile(dir_.filePath(QStringLiteral("tiny.yaml")), kTinyRecipe);
    }

    void tinyRunStreamsProgressAndCompletes() {
        const QString workspace = dir_.filePath(QStringLiteral("ws-complete"));
        RunLauncher launcher(workspace, engine_);
        QList<qint64> streamed;
        connect(&launcher, &RunLauncher::stepStreamed, this, [&streamed](int, qint64 step) {
            streamed << step;
        });
        const int id = launcher.enqueueTrain(recipe_);
        QTRY_VERIFY_WITH_TIMEOUT(launcher.launch(id)->state == Launch::State::kEnded,
                                 kRunTimeoutMs);
        const Launch& l = *launcher.launch(id);
        QVERIFY2(l.outcome == QLatin1String("completed"), qPrintable(l.outcome + l.console));
        QCOMPARE(l.exit_code, 0);
        // One Step event per optimizer step, 1..30 in order: the recipe asks for 30 steps.
        QList<qint64> expected;
        for (qint64 step = 1; step <= 30; ++step) {
            expected << step;
        }
        QCOMPARE(streamed, expected);
        QCOMPARE(l.steps, qint64{30});
        QVERIFY(l.run_id > 0);
        // The editor's parameter count (from the recipe alone) is the engine's.
        QCOMPARE(
            l.parameters,
            recipe_footprint(lowbit::config::load_recipe_file(recipe_.toStdString())).parameters);
        RunsSnapshot runs(workspace);
        QCOMPARE(runs.status(l.run_id), QStringLiteral("completed"));
    }

    // The panel's rank count becomes `--nproc-per-node`: two data-parallel ranks train one run,
    // rank 0's progress streams as a single process's does, and the run records its world size.
    void twoRanksFromThePanelTrainOneRun() {
        const QString workspace = dir_.filePath(QStringLiteral("ws-ranks"));
        RunLauncher launcher(workspace, engine_);
        LaunchPanel panel(&launcher);
        QList<qint64> streamed;
        connect(&launcher, &RunLauncher::stepStreamed, this, [&streamed](int, qint64 step) {
            streamed << step;
        });
        panel.findChild<QLineEdit*>(QStringLiteral("recipePath"))->setText(recipe_);
        panel.findChild<QSpinBox*>(QStringLiteral("ranksPerLaunch"))->setValue(2);
        panel.findChild<QPushButton*>(QStringLiteral("launchButton"))->click();
        QCOMPARE(launcher.launches().size(), qsizetype{1});
        const int id = launcher.launches().front().id;
        const QStringList& arguments = launcher.launch(id)->arguments;
        const auto option = arguments.indexOf(QStringLiteral("--nproc-per-node"));
        QVERIFY2(option >= 0 && arguments.value(option + 1) == QStringLiteral("2"),
                 qPrintable(arguments.join(QLatin1Char(' '))));
        QTRY_VERIFY_WITH_TIMEOUT(launcher.launch(id)->state == Launch::State::kEnded,
                                 kRunTimeoutMs);
        const Launch& l = *launcher.launch(id);
        QVERIFY2(l.outcome == QLatin1String("completed"), qPrintable(l.outcome + l.console));
        QCOMPARE(l.steps, qint64{30});
        QCOMPARE(streamed.size(), 30);  // rank 0 alone reports
        RunsSnapshot runs(workspace);
        QCOMPARE(runs.model.rowCount(), 1);
        QCOMPARE(runs.status(l.run_id), QStringLiteral("completed"));
        const auto summary = nlohmann::json::parse(runs.row(l.run_id)->record.summary_json);
        QCOMPARE(summary.at("world_size").get<int>(), 2);
    }

    void forkFromTheEditorStartsAtItsCheckpoint() {
        const QString workspace = dir_.filePath(QStringLiteral("ws-fork"));
        RunLauncher launcher(workspace, engine_);
        const int parent_launch = launcher.enqueueTrain(recipe_);
        QTRY_VERIFY_WITH_TIMEOUT(launcher.launch(parent_launch)->state == Launch::State::kEnded,
                                 kRunTimeoutMs);
        const qint64 parent = launcher.launch(parent_launch)->run_id;
        QCOMPARE(launcher.launch(parent_launch)->outcome, QStringLiteral("completed"));
        // The recipe checkpoints every 10 of its 30 steps: the fork menu offers exactly those.
        RunsSnapshot before(workspace);
        QVERIFY(before.row(parent) != nullptr);
        QCOMPARE(before.row(parent)->checkpoint_steps, (std::vector<int64_t>{10, 20, 30}));

        // What "Fork from Checkpoint → Step 10" does: the editor on the run's recipe, here with
        // 8-bit first moments, launched with the fork option.
        ExperimentEditor editor;
        editor.setLaunchFolder(dir_.filePath(QStringLiteral("fork-recipes")));
        auto recipe = lowbit::config::recipe_from_json(
            nlohmann::json::parse(before.row(parent)->record.recipe_json));
        recipe.quant.optim_m.bits = 8;
        editor.loadForkRecipe(recipe, ForkOrigin{parent, 10, QStringLiteral("tiny")});
        QCOMPARE(editor.launchOptions(),
                 (QStringList{QStringLiteral("--fork"), QStringLiteral("%1@10").arg(parent)}));
        int fork_launch = 0;
        connect(&editor,
                &ExperimentEditor::launchRequested,
                this,
                [&](const QString& path, const QStringList& options) {
                    fork_launch = launcher.enqueueTrain(path, {}, options);
                });
        QList<qint64> streamed;
        connect(&launcher, &RunLauncher::stepStreamed, this, [&](int launch_id, qint64 step) {
            if (launch_id == fork_launch) {
                streamed << step;
            }
        });
        QVERIFY(editor.launch());
        QVERIFY(fork_launch > 0);
        QTRY_VERIFY_WITH_TIMEOUT(launcher.launch(fork_launch)->state == Launch::State::kEnded,
                                 kRunTimeoutMs);
        const Launch& fork = *launcher.launch(fork_launch);
        QVERIFY2(fork.outcome == QLatin1String("completed"),
                 qPrintable(fork.outcome + fork.console));
        // Steps 11..30: the fork continues from the checkpoint after step 10.
        QCOMPARE(streamed.size(), 20);
        QCOMPARE(streamed.first(), qint64{11});
        QCOMPARE(streamed.last(), qint64{30});
        RunsSnapshot after(workspace);
        const RunRow* row = after.row(fork.run_id);
        QVERIFY(row != nullptr);
        QCOMPARE(row->record.parent_run_id, std::optional<int64_t>(parent));
        QCOMPARE(row->record.fork_step, std::optional<int64_t>(10));
        const auto stored = nlohmann::json::parse(row->record.recipe_json);
        QCOMPARE(stored["quant"]["optim_m"]["bits"].get<int>(), 8);
        QString tooltip;
        for (int r = 0; r < after.model.rowCount(); ++r) {
            const QModelIndex name = after.model.index(r, RunsModel::kName);
            if (name.data(RunsModel::kRunIdRole).toLongLong() == fork.run_id) {
                tooltip = name.data(Qt::ToolTipRole).toString();
            }
        }
        QCOMPARE(tooltip, QStringLiteral("Forked from run %1 at step 10").arg(parent));
    }

    void stoppedRunKeepsItsCheckpointAndResumes() {
        const QString workspace = dir_.filePath(QStringLiteral("ws-stop"));
        RunLauncher launcher(workspace, engine_);
        QList<qint64> streamed;
        connect(&launcher, &RunLauncher::stepStreamed, this, [&streamed](int, qint64 step) {
            streamed << step;
        });
        // Long enough that the stop lands mid-run.
        const int id = launcher.enqueueTrain(recipe_, {QStringLiteral("train.steps=3000")});
        QTRY_VERIFY_WITH_TIMEOUT(!streamed.isEmpty() && streamed.last() >= 12, kRunTimeoutMs);
        launcher.stop(id);
        QTRY_VERIFY_WITH_TIMEOUT(launcher.launch(id)->state == Launch::State::kEnded,
                                 kRunTimeoutMs);
        const qint64 run_id = launcher.launch(id)->run_id;
        const qint64 stopped_at = streamed.last();
        QVERIFY2(launcher.launch(id)->outcome == QLatin1String("stopped"),
                 qPrintable(launcher.launch(id)->outcome + launcher.launch(id)->console));
        QVERIFY(stopped_at < 3000);
        // The stop wrote a checkpoint at the step it reached.
        QCOMPARE(launcher.launch(id)->checkpoint_step, stopped_at);
        QVERIFY(QFileInfo(QDir(workspace).filePath(launcher.launch(id)->checkpoint)).isDir());
        {
            RunsSnapshot runs(workspace);
            QCOMPARE(runs.status(run_id), QStringLiteral("stopped"));
        }
        streamed.clear();
        const int resumed = launcher.enqueueResume(run_id);
        QTRY_VERIFY_WITH_TIMEOUT(launcher.launch(resumed)->state == Launch::State::kEnded,
                                 kRunTimeoutMs * 2);
        const Launch& r = *launcher.launch(resumed);
        QVERIFY2(r.outcome == QLatin1String("completed"), qPrintable(r.outcome + r.console));
        QCOMPARE(r.run_id, run_id);
        QVERIFY(!streamed.isEmpty());
        // It continued where the stop left it, not from step 1.
        QCOMPARE(streamed.first(), stopped_at + 1);
        QCOMPARE(streamed.last(), qint64{3000});
        QCOMPARE(launcher.launchOfRun(run_id)->id, resumed);
        RunsSnapshot runs(workspace);
        QCOMPARE(runs.status(run_id), QStringLiteral("completed"));
    }

    void killedEngineLeavesTheGuiResponsiveAndShowsKilled() {
        const QString workspace = dir_.filePath(QStringLiteral("ws-kill"));
        qint64 run_id = 0;
        QString stderr_tail;
        {
            RunLauncher launcher(workspace, engine_);
            LaunchPanel panel(&launcher);
            qint64 last_step = 0;
            connect(&launcher, &RunLauncher::stepStreamed, this, [&last_step](int, qint64 step) {
                last_step = step;
            });
            const int id = launcher.enqueueTrain(recipe_, {QStringLiteral("train.steps=100000")});
            QTRY_VERIFY_WITH_TIMEOUT(last_step >= 3, kRunTimeoutMs);
            const Launch& l = *launcher.launch(id);
            QVERIFY(l.engine_pid > 0);
            run_id = l.run_id;

            // A timer of the GUI thread keeps firing while the engine dies and is noticed.
            int ticks = 0;
            QElapsedTimer since_tick;
            qint64 longest_gap_ms = 0;
            QTimer heartbeat;
            heartbeat.setInterval(20);
            connect(&heartbeat, &QTimer::timeout, this, [&] {
                if (since_tick.isValid()) {
                    longest_gap_ms = std::max(longest_gap_ms, since_tick.elapsed());
                }
                since_tick.restart();
                ++ticks;
            });
            heartbeat.start();
            QCOMPARE(::kill(static_cast<pid_t>(l.engine_pid), SIGKILL), 0);
            QTRY_VERIFY_WITH_TIMEOUT(launcher.launch(id)->state == Launch::State::kEnded, 20000);
            QTest::qWait(500);
            QVERIFY2(ticks >= 10, qPrintable(QString::number(ticks)));
            QVERIFY2(longest_gap_ms < 1000, qPrintable(QString::number(longest_gap_ms)));

            // 128 + 9: the wrapper saw the engine end by signal 9.
            QCOMPARE(launcher.launch(id)->exit_code, 128 + SIGKILL);
            QCOMPARE(launcher.launch(id)->outcome, QStringLiteral("killed (signal 9)"));
            QCOMPARE(panelState(panel, id), QStringLiteral("killed (signal 9)"));
            // The console: the engine's stderr as written to its log, then the launcher's note.
            stderr_tail =
                readFile(launcher.launch(id)->err_path).right(RunLauncher::kConsoleLimit) +
                QStringLiteral("[lowbit-studio] the engine ended: killed (signal 9)\n");
            panel.selectLaunch(id);
            QCOMPARE(panel.console()->toPlainText(), stderr_tail);

            // The database still says running; the store's liveness check shows it killed.
            RunsSnapshot runs(workspace);
            QCOMPARE(runs.status(run_id), QStringLiteral("killed"));
        }
        // A restarted studio: a new launcher over the same workspace finds the launch again.
        RunLauncher reopened(workspace, engine_);
        LaunchPanel panel(&reopened);
        const Launch* l = reopened.launchOfRun(run_id);
        QVERIFY(l != nullptr);
        QCOMPARE(l->state, Launch::State::kEnded);
        QCOMPARE(l->outcome, QStringLiteral("killed (signal 9)"));
        panel.selectLaunch(l->id);
        QCOMPARE(panelState(panel, l->id), QStringLiteral("killed (signal 9)"));
        QCOMPARE(panel.console()->toPlainText(), stderr_tail);
        RunsSnapshot runs(workspace);
        QCOMPARE(runs.status(run_id), QStringLiteral("killed"));
    }

    void badRecipeFailsToStartWithTheConfigMessage() {
        // heads must divide d_model: a rule across keys that lowbit_config checks.
        QByteArray text = kTinyRecipe;
        text.replace("heads: 2", "heads: 3");
        const QString bad = writeFile(dir_.filePath(QStringLiteral("bad.yaml")), text);
        std::string expected;
        try {
            lowbit::config::load_recipe_file(bad.toStdString());
        } catch (const lowbit::config::RecipeError& error) {
            expected = std::string("lowbit: error: ") + error.what();
        }
        QVERIFY(!expected.empty());

        const QString workspace = dir_.filePath(QStringLiteral("ws-bad"));
        RunLauncher launcher(workspace, engine_);
        QString reported;
        connect(&launcher, &RunLauncher::failed, this, [&reported](const QString& message) {
            reported = message;
        });
        const int id = launcher.enqueueTrain(bad);
        QTRY_VERIFY_WITH_TIMEOUT(launcher.launch(id)->state == Launch::State::kEnded, 60000);
        QCOMPARE(launcher.launch(id)->exit_code, 2);
        QCOMPARE(launcher.launch(id)->outcome, QStringLiteral("failed to start"));
        QCOMPARE(reported, QString::fromStdString(expected));
        QVERIFY(launcher.launch(id)->console.contains(QString::fromStdString(expected)));
    }

    // An EfficientQAT run launched from the editor's EfficientQAT mode on a model trained here:
    // the phase view follows it while its engine writes it and ends with every block and epoch,
    // and the results table lists it under its source, beside the FP row.
    void qatLaunchedFromTheEditorShowsItsPhasesAndJoinsTheResults() {
        const QString workspace = dir_.filePath(QStringLiteral("ws-qat"));
        RunLauncher launcher(workspace, engine_);
        const int source_launch = launcher.enqueueTrain(recipe_);
        QTRY_VERIFY_WITH_TIMEOUT(launcher.launch(source_launch)->state == Launch::State::kEnded,
                                 kRunTimeoutMs);
        QCOMPARE(launcher.launch(source_launch)->outcome, QStringLiteral("completed"));
        const qint64 source = launcher.launch(source_launch)->run_id;

        RunsSnapshot runs(workspace);
        ExperimentEditor editor;
        editor.setLaunchFolder(dir_.filePath(QStringLiteral("qat-recipes")));
        QVERIFY(editor.loadRecipeFile(QStringLiteral(":/lowbit/presets/efficientqat/w4g128.yaml")));
        editor.setSourceModels({{source,
                                 QStringLiteral("tiny"),
                                 lowbit::config::recipe_from_json(nlohmann::json::parse(
                                     runs.row(source)->record.recipe_json))}});
        QVERIFY(editor.setQatSource(source));
        // The tiny model's sizes: width 32, context 32; enough epochs to watch it live.
        const std::vector<std::pair<std::string, QString>> settings = {
            {"qat.group_size", QStringLiteral("16")},
            {"qat.block_ap.samples", QStringLiteral("32")},
            {"qat.block_ap.val_samples", QStringLiteral("8")},
            {"qat.block_ap.seq_len", QStringLiteral("32")},
            {"qat.block_ap.epochs", QStringLiteral("40")},
            {"qat.e2e_qp.samples", QStringLiteral("32")},
            {"qat.e2e_qp.seq_len", QStringLiteral("31")},
            {"qat.e2e_qp.global_batch", QStringLiteral("8")},
            {"qat.e2e_qp.micro_batch", QStringLiteral("4")},
        };
        for (const auto& [key, value] : settings) {
            QVERIFY2(editor.form()->setValueText(key, value), key.c_str());
        }
        editor.syncFromForm();
        QVERIFY2(editor.recipe().has_value(), qPrintable(editor.message()));
        int qat_launch = 0;
        connect(&editor, &ExperimentEditor::qatLaunchRequested, this, [&](const QString& path) {
            qat_launch = launcher.enqueueQat(path);
        });
        QVERIFY(editor.launch());
        QVERIFY(qat_launch > 0);

        // The view is pointed at the run as soon as the engine has created it in the workspace
        // (the launcher learns the id only at its next tail of the engine's output), then read
        // every few milliseconds: seen live is the run still written, some epochs recorded, and
        // its one block not finished yet.
        QatPhaseView phases(nullptr);
        phases.setWorkspace(workspace);
        qint64 run = 0;
        bool seen_live = false;
        QElapsedTimer clock;
        clock.start();
        while (launcher.launch(qat_launch)->state != Launch::State::kEnded &&
               clock.elapsed() < kRunTimeoutMs) {
            QTest::qWait(kLivePollMs);
            if (run == 0 && (run = newestRunOfKind(workspace, "qat")) > 0) {
                phases.setRun(run);
            }
            phases.refresh();
            const QatPhaseData& d = phases.data();
            seen_live = seen_live || (d.live() && !d.epoch_rows.empty() && d.finished.empty());
        }
        const Launch& l = *launcher.launch(qat_launch);
        QVERIFY2(l.outcome == QLatin1String("completed"), qPrintable(l.outcome + l.console));
        QCOMPARE(l.run_id, run);
        QVERIFY(seen_live);
        phases.refresh();
        const QatPhaseData& done = phases.data();
        QVERIFY(!done.live());
        QCOMPARE(done.blocks, int64_t{1});  // the tiny recipe has one layer
        QCOMPARE(done.epoch_rows.size(), size_t{40});
        QCOMPARE(done.finished.size(), size_t{1});
        QCOMPARE(done.e2e_loss.size(), size_t{4});  // 32 windows, 8 per step
        QCOMPARE(phases.heatmap()->data()->keySize(), 1);
        QVERIFY(std::isfinite(phases.heatmap()->data()->cell(0, 39)));

        QatResultsView results;
        results.setWorkspace(workspace);
        QCOMPARE(results.source(), source);
        QCOMPARE(results.model()->rowCount(), 2);
        QCOMPARE(results.model()->results().rows[0].method, std::string("FP"));
        QCOMPARE(results.model()->results().rows[1].run_id, run);
        QCOMPARE(results.model()->results().rows[1].method, std::string("Block-AP + E2E-QP"));
        QVERIFY(results.model()->results().rows[1].perplexity.contains("val"));
    }

private:
    QTemporaryDir dir_;
    QString engine_;
    QString recipe_;
};

QTEST_MAIN(LauncherEngineTest)
#include "launcher_engine_test.moc"
