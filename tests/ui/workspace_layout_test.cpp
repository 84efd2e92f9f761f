// The workspace layout and the undo stack over a workspace written through lowbit_store: a layout
// saved by one window's charts and read by a fresh one gives the same state (and the file is the
// documented version 1 JSON); corrupt files (bad JSON, wrong types, a chart for a key no run
// recorded) and a newer version give the defaults and a message naming the file, and their bytes
// stay on disk (a corrupt file set aside unchanged at the next save, a newer one never written
// over); the database is byte-for-byte unchanged; a sequence of view edits undone step by step
// returns each earlier state exactly, redone returns the last, consecutive smoothing edits are one
// step.
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QUndoStack>

#include <vector>

#include "charts/charts_view.h"
#include "controllers/workspace_worker.h"
#include "layout/layout_controller.h"
#include "models/runs_model.h"
#include <nlohmann/json.hpp>

using namespace lowbit::ui;

namespace {

namespace store = lowbit::store;

QByteArray fileBytes(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

void writeFile(const QString& path, const QByteArray& bytes) {
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(file.write(bytes), bytes.size());
}

// One window's worth of views over a workspace, wired as the main window wires them.
struct Window {
    RunsModel model;
    ChartsView view{&model};
    LayoutController layout{&view, &model};
    WorkspaceWorker worker;

    explicit Window(const QString& root) : worker(root) {
        QObject::connect(&worker, &WorkspaceWorker::runsRead, &model, &RunsModel::setRuns);
        QObject::connect(&worker, &WorkspaceWorker::chartsRead, &view, &ChartsView::onChartsRead);
        QObject::connect(&view, &ChartsView::displayChanged, &worker, &WorkspaceWorker::setDisplay);
        QObject::connect(
            &view, &ChartsView::chartViewChanged, &worker, &WorkspaceWorker::setChartView);
        QObject::connect(
            &view, &ChartsView::seriesOptionsChanged, &worker, &WorkspaceWorker::setSeriesOptions);
        QObject::connect(&model, &RunsModel::visibleRunsChanged, &worker, [this] {
            const auto ids = model.visibleRuns();
            worker.setVisibleRuns(QVector<qint64>(ids.begin(), ids.end()));
        });
    }

    void open(const QString& root) {
        layout.openWorkspace(root);
        worker.setSeriesOptions(view.seriesOptions());
        worker.open(0);
    }
};

}  // namespace

class WorkspaceLayoutTest : public QObject {
    Q_OBJECT

private Q_SLOTS:

    void initTestCase() {
        QVERIFY(dir_.isValid());
        store::Workspace workspace = store::Workspace::open(dir_.path().toStdString());
        store::RunWriter writer(workspace);
        for (const char* name : {"a", "b", "c"}) {
            store::RunRecord record;
            record.name = name;
            record.kind = "train";
            record.recipe_json = "{}";
            record.summary_json = "{}";
            const int64_t id = writer.create_run(record);
            writer.set_status(id, store::RunStatus::kCompleted);
            runs_.push_back(id);
            for (int64_t step = 1; step <= 20; ++step) {
                const double s = static_cast<double>(step);
                writer.add_scalar({0, id, "train/loss", step, step * 64, s, 4.0 / s + 0.1 * id});
                writer.add_scalar({0, id, "lr", step, step * 64, s, 1e-3 * s / 20});
                writer.add_scalar({0, id, "grad_norm", step, step * 64, s, 1.0 + 0.01 * s});
            }
        }
        writer.flush();
    }

    void init() {
        QFile::remove(layoutPath());
        for (const QString& aside : asideFiles()) {
            QFile::remove(QDir(dir_.path()).filePath(aside));
        }
    }

    void layoutRoundTripsThroughTheFile() {
        ChartsState saved;
        {
            Window first(dir_.path());
            first.open(dir_.path());
            QVERIFY(first.view.chart(QStringLiteral("train/loss")));
            ChartsView& v = first.view;
            v.setMode(ChartsMode::kStacked);
            v.setSmoothing(0.35);
            v.setLogY(true);
            v.setBaselineRun(runs_[0]);
            v.setSecondaryKey(QStringLiteral("train/loss"), QStringLiteral("lr"));
            v.setSecondaryLog(QStringLiteral("train/loss"), true);
            v.addDerived(QStringLiteral("train/loss"), {DerivedKind::kEma, 0.8});
            v.addDerived(QStringLiteral("train/loss"), {DerivedKind::kDifference, 0});
            v.addDerived(QStringLiteral("lr"), {DerivedKind::kDerivative, 0});
            v.removeChart(QStringLiteral("grad_norm"));
            first.model.setVisible(runs_[2], false);
            // Zoomed: the stacked charts share x = 3..9; train/loss also has its own y range.
            v.chart(QStringLiteral("train/loss"))->setZoom({3, 9}, std::make_pair(0.5, 2.5));
            saved = v.state();
            QVERIFY(saved.charts.at(QStringLiteral("train/loss")).x_range.has_value());
            first.layout.saveNow();
        }
        // The file is the documented format.
        const auto json = nlohmann::json::parse(fileBytes(layoutPath()).toStdString());
        QCOMPARE(json["version"].get<int>(), 1);
        QCOMPARE(json["mode"].get<std::string>(), std::string("stacked"));
        QCOMPARE(json["hidden_runs"], nlohmann::json::array({runs_[2]}));
        QCOMPARE(json["removed_charts"], nlohmann::json::array({"grad_norm"}));

        Window second(dir_.path());
        QSignalSpy messages(&second.layout, &LayoutController::message);
        second.open(dir_.path());
        QCOMPARE(messages.count(), 0);
        QVERIFY(second.view.state() == saved);
        QCOMPARE(second.model.hiddenRuns(), std::set<int64_t>({runs_[2]}));
        QCOMPARE(second.view.shownKeys(),
                 QStringList({QStringLiteral("train/loss"), QStringLiteral("lr")}));
        ScalarChart* loss = second.view.chart(QStringLiteral("train/loss"));
        QVERIFY(loss && loss->isZoomed());
        QCOMPARE(loss->xRange(), std::make_pair(3.0, 9.0));
        QCOMPARE(loss->yRange(), std::make_pair(0.5, 2.5));
        QCOMPARE(loss->plot()->yAxis2->scaleType(), QCPAxis::stLogarithmic);
        QCOMPARE(second.view.smoothing(), 0.35);
        // Reading it asked for no save: the file is as the first window wrote it.
        QTest::qWait(LayoutController::kSaveDelayMs + 100);
        QCOMPARE(second.layout.undoStack()->count(), 0);
    }

    void corruptFilesGiveDefaultsAndStayOnDisk_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("problem");
        QTest::newRow("bad json") << QByteArray("{\"version\": 1, \"mode\": \"stacked\",")
                                  << QStringLiteral("not valid JSON");
        QTest::newRow("wrong type") << QByteArray("{\"version\": 1, \"smoothing\": \"high\"}")
                                    << QStringLiteral("smoothing");
        QTest::newRow("wrong type in a chart")
            << QByteArray(
                   "{\"version\": 1, \"charts\": [{\"key\": \"train/loss\", \"log_y2\": 1}]}")
            << QStringLiteral("charts[0].log_y2");
        QTest::newRow("unknown chart key")
            << QByteArray("{\"version\": 1, \"charts\": [{\"key\": \"no/such_key\"}]}")
            << QStringLiteral("no/such_key");
        QTest::newRow("unknown field")
            << QByteArray("{\"version\": 1, \"colour\": \"red\"}") << QStringLiteral("colour");
        QTest::newRow("not an object") << QByteArray("[1, 2]") << QStringLiteral("object");
    }

    void corruptFilesGiveDefaultsAndStayOnDisk() {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, problem);
        writeFile(layoutPath(), bytes);
        const QByteArray database = databaseHash();
        Window window(dir_.path());
        QSignalSpy messages(&window.layout, &LayoutController::message);
        window.open(dir_.path());
        QCOMPARE(messages.count(), 1);
        const QString message = messages.at(0).at(0).toString();
        QVERIFY2(message.contains(layoutPath()), qPrintable(message));
        QVERIFY2(message.contains(problem), qPrintable(message));
        QVERIFY(window.view.state() == ChartsState{});
        QVERIFY(window.model.hiddenRuns().empty());
        // Nothing is written until something changes.
        QTest::qWait(LayoutController::kSaveDelayMs + 100);
        QCOMPARE(fileBytes(layoutPath()), bytes);
        QVERIFY(asideFiles().isEmpty());
        // The first save sets the corrupt file aside, bytes unchanged, and writes the new one.
        window.view.setSmoothing(0.25);
        window.layout.saveNow();
        const QStringList aside = asideFiles();
        QCOMPARE(aside.size(), 1);
        QCOMPARE(fileBytes(QDir(dir_.path()).filePath(aside.front())), bytes);
        QVERIFY(messages.last().at(0).toString().contains(aside.front()));
        const auto json = nlohmann::json::parse(fileBytes(layoutPath()).toStdString());
        QCOMPARE(json["smoothing"].get<double>(), 0.25);
        QCOMPARE(databaseHash(), database);
    }

    void newerVersionIsLeftUntouched() {
        const QByteArray bytes("{\"version\": 2, \"panels\": {\"anything\": true}}");
        writeFile(layoutPath(), bytes);
        Window window(dir_.path());
        QSignalSpy messages(&window.layout, &LayoutController::message);
        window.open(dir_.path());
        QCOMPARE(messages.count(), 1);
        const QString message = messages.at(0).at(0).toString();
        QVERIFY2(message.contains(layoutPath()) && message.contains(QLatin1String("version 2")),
                 qPrintable(message));
        QVERIFY(window.view.state() == ChartsState{});
        window.view.setMode(ChartsMode::kStacked);
        window.layout.saveNow();
        QTest::qWait(LayoutController::kSaveDelayMs + 100);
        QCOMPARE(fileBytes(layoutPath()), bytes);
        QVERIFY(asideFiles().isEmpty());
    }

    void undoReturnsEachEarlierStateAndRedoReappliesThem() {
        Window window(dir_.path());
        window.open(dir_.path());
        ChartsView& v = window.view;
        QUndoStack* stack = window.layout.undoStack();
        const QString loss = QStringLiteral("train/loss");
        QVERIFY(v.chart(loss));

        using Snapshot = std::pair<ChartsState, std::set<int64_t>>;
        auto snapshot = [&] { return Snapshot{v.state(), window.model.hiddenRuns()}; };
        std::vector<Snapshot> states = {snapshot()};
        auto step = [&](const std::function<void()>& edit) {
            edit();
            states.push_back(snapshot());
        };
        // Three smoothing changes in a row are one step: states[1] is after the last of them.
        step([&] {
            v.setSmoothing(0.5);
            v.setSmoothing(0.45);
            v.setSmoothing(0.4);
        });
        step([&] { v.setMode(ChartsMode::kStacked); });
        step([&] { v.setSecondaryKey(loss, QStringLiteral("lr")); });
        step([&] { v.addDerived(loss, {DerivedKind::kEma, 0.9}); });
        step([&] { v.removeChart(QStringLiteral("grad_norm")); });
        step([&] { v.setXAxis(XAxisKind::kTokens); });
        step([&] {
            // As the run browser's check box does it.
            const QModelIndex visible =
                window.model.index(window.model.rowOf(runs_[1]), RunsModel::kVisible);
            QVERIFY(window.model.setData(visible, Qt::Unchecked, Qt::CheckStateRole));
        });
        QCOMPARE(stack->count(), 7);
        QCOMPARE(states[1].first.smoothing, 0.4);
        QCOMPARE(stack->undoText(), QStringLiteral("Run Visibility"));
        // Every edit changed something.
        for (size_t i = 1; i < states.size(); ++i) {
            QVERIFY(!(states[i] == states[i - 1]));
        }

        for (size_t i = states.size() - 1; i > 0; --i) {
            stack->undo();
            QVERIFY2(snapshot() == states[i - 1], qPrintable(QString::number(i)));
        }
        QVERIFY(!stack->canUndo());
        // What the charts draw follows: no right axis, smoothing back at its default.
        QVERIFY(!v.chart(loss)->plot()->yAxis2->visible());
        QCOMPARE(v.smoothing(), ChartsState::kDefaultSmoothing);
        for (size_t i = 1; i < states.size(); ++i) {
            stack->redo();
            QVERIFY2(snapshot() == states[i], qPrintable(QString::number(i)));
        }
        QVERIFY(v.chart(loss)->plot()->yAxis2->visible());
        QCOMPARE(window.model.hiddenRuns(), std::set<int64_t>({runs_[1]}));
        // Smoothing moved away and back is no step at all.
        const int count = stack->count();
        v.setSmoothing(0.7);
        v.setSmoothing(0.4);
        QCOMPARE(stack->count(), count);
    }

private:
    QString layoutPath() const {
        return QDir(dir_.path()).filePath(QStringLiteral("studio-layout.json"));
    }

    QStringList asideFiles() const {
        return QDir(dir_.path())
            .entryList({QStringLiteral("studio-layout.json.corrupt-*")}, QDir::Files);
    }

    QByteArray databaseHash() const {
        return QCryptographicHash::hash(
            fileBytes(QDir(dir_.path()).filePath(QStringLiteral("runs.sqlite"))),
            QCryptographicHash::Sha256);
    }

    QTemporaryDir dir_;
    std::vector<int64_t> runs_;
};

QTEST_MAIN(WorkspaceLayoutTest)
#include "workspace_layout_test.moc"
