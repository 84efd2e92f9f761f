// The chart area over a workspace written through lowbit_store: a secondary key on the right axis
// (its graphs on yAxis2, their points the stored scalars read back with SQL), the derived
// difference and ratio to a baseline run drawn from the worker's full-resolution series (values
// worked out by hand), stacked charts sharing their x range and their axis-rect edges.
#include "charts/charts_view.h"

#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <sqlite3.h>

#include <cmath>
#include <utility>
#include <vector>

#include "controllers/workspace_worker.h"
#include "models/runs_model.h"

using namespace lowbit::ui;

namespace {

namespace store = lowbit::store;

// (step, value) of one run's key, in step order, read with SQL.
std::vector<std::pair<double, double>> storedScalars(const QString& root,
                                                     int64_t run_id,
                                                     const char* key) {
    sqlite3* db = nullptr;
    const std::string file = (root + QStringLiteral("/runs.sqlite")).toStdString();
    sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db,
                       "SELECT step, value FROM scalars WHERE run_id = ? AND key = ? ORDER BY step",
                       -1,
                       &stmt,
                       nullptr);
    sqlite3_bind_int64(stmt, 1, run_id);
    sqlite3_bind_text(stmt, 2, key, -1, SQLITE_TRANSIENT);
    std::vector<std::pair<double, double>> rows;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        rows.emplace_back(sqlite3_column_double(stmt, 0), sqlite3_column_double(stmt, 1));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rows;
}

std::vector<std::pair<double, double>> pointsOf(const QCPGraph* graph) {
    std::vector<std::pair<double, double>> points;
    for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it) {
        points.emplace_back(it->key, it->value);
    }
    return points;
}

QList<QCPGraph*> graphsWithRole(const ScalarChart* chart, const QString& role, qint64 run = -1) {
    QList<QCPGraph*> found;
    for (int i = 0; i < chart->plot()->graphCount(); ++i) {
        QCPGraph* graph = chart->plot()->graph(i);
        if (graph->property("role").toString() == role &&
            (run < 0 || graph->property("run").toLongLong() == run)) {
            found.push_back(graph);
        }
    }
    return found;
}

}  // namespace

class ChartsViewTest : public QObject {
    Q_OBJECT

private Q_SLOTS:

    void initTestCase() {
        QVERIFY(dir_.isValid());
        store::Workspace workspace = store::Workspace::open(dir_.path().toStdString());
        store::RunWriter writer(workspace);
        auto addRun = [&](const char* name) {
            store::RunRecord record;
            record.name = name;
            record.kind = "train";
            record.recipe_json = "{}";
            record.summary_json = "{}";
            const int64_t id = writer.create_run(record);
            writer.set_status(id, store::RunStatus::kCompleted);
            return id;
        };
        baseline_ = addRun("baseline");
        other_ = addRun("other");
        // The baseline's loss at steps 1, 2, 4, 5 (none at 3); the other run's at 1..5.
        const std::vector<std::pair<int64_t, double>> base_loss = {
            {1, 4.0}, {2, 3.0}, {4, 2.0}, {5, 1.6}};
        const std::vector<std::pair<int64_t, double>> other_loss = {
            {1, 5.0}, {2, 3.5}, {3, 3.0}, {4, 2.5}, {5, 2.0}};
        for (const auto& [step, value] : base_loss) {
            writer.add_scalar({0, baseline_, "train/loss", step, step * 100, 0.0, value});
        }
        for (const auto& [step, value] : other_loss) {
            writer.add_scalar({0, other_, "train/loss", step, step * 100, 0.0, value});
        }
        // A learning rate warming up and a throughput in the hundred thousands: scales far
        // apart, so their axes' tick labels differ in width.
        for (int64_t step = 1; step <= 5; ++step) {
            for (int64_t id : {baseline_, other_}) {
                writer.add_scalar(
                    {0, id, "lr", step, step * 100, 0.0, 1e-4 * static_cast<double>(step) / 5});
                writer.add_scalar({0,
                                   id,
                                   "throughput/tokens_per_s",
                                   step,
                                   step * 100,
                                   0.0,
                                   123456.0 + static_cast<double>(step * id)});
            }
        }
        writer.flush();
    }

    void secondaryKeyIsDrawnOnTheRightAxisFromTheStoredScalars() {
        RunsModel model;
        ChartsView view(&model);
        WorkspaceWorker worker(dir_.path());
        wire(model, view, worker);
        view.setSmoothing(0);  // the smoothed line is then the raw one too
        view.setSecondaryKey(QStringLiteral("train/loss"), QStringLiteral("lr"));
        ScalarChart* loss = view.chart(QStringLiteral("train/loss"));
        QVERIFY(loss);
        QCustomPlot* plot = loss->plot();
        QVERIFY(plot->yAxis2->visible());
        QCOMPARE(plot->yAxis2->label(), QStringLiteral("lr"));
        for (int64_t id : {baseline_, other_}) {
            const auto raw = graphsWithRole(loss, QStringLiteral("secondary-raw"), id);
            const auto smooth = graphsWithRole(loss, QStringLiteral("secondary"), id);
            QCOMPARE(raw.size(), 1);
            QCOMPARE(smooth.size(), 1);
            QCOMPARE(raw[0]->valueAxis(), plot->yAxis2);
            QCOMPARE(smooth[0]->valueAxis(), plot->yAxis2);
            const auto stored = storedScalars(dir_.path(), id, "lr");
            QCOMPARE(stored.size(), size_t{5});
            QCOMPARE(pointsOf(raw[0]), stored);
            // Told apart in the legend: dashed, listed, named after the key.
            QCOMPARE(smooth[0]->pen().style(), Qt::DashLine);
            QVERIFY(plot->legend->hasItemWithPlottable(smooth[0]));
            QVERIFY(smooth[0]->name().contains(QLatin1String("lr")));
            // The loss itself stays on the left axis.
            for (QCPGraph* own : graphsWithRole(loss, QStringLiteral("raw"), -1)) {
                QCOMPARE(own->valueAxis(), plot->yAxis);
            }
        }
        QVERIFY(plot->legend->visible());
        // The right axis has its own scale: it spans the learning rates, not the losses.
        QVERIFY(plot->yAxis2->range().lower < 2e-5 && plot->yAxis2->range().upper < 1e-3);
        QVERIFY(plot->yAxis->range().upper > 4.9);
        view.setSecondaryLog(QStringLiteral("train/loss"), true);
        QCOMPARE(plot->yAxis2->scaleType(), QCPAxis::stLogarithmic);
        QCOMPARE(plot->yAxis->scaleType(), QCPAxis::stLinear);
        // None again: no graph left on the right axis.
        view.setSecondaryKey(QStringLiteral("train/loss"), {});
        QVERIFY(graphsWithRole(loss, QStringLiteral("secondary-raw")).isEmpty());
        QVERIFY(!plot->yAxis2->visible());
    }

    void derivedDifferenceAndRatioToTheBaselineAtMatchingSteps() {
        RunsModel model;
        ChartsView view(&model);
        WorkspaceWorker worker(dir_.path());
        wire(model, view, worker);
        view.setXAxis(XAxisKind::kTokens);
        view.setBaselineRun(baseline_);
        view.addDerived(QStringLiteral("train/loss"), {DerivedKind::kDifference, 0});
        view.addDerived(QStringLiteral("train/loss"), {DerivedKind::kRatio, 0});
        ScalarChart* loss = view.chart(QStringLiteral("train/loss"));
        QVERIFY(loss);
        // Only the other run has a difference (the baseline's own would be zero); the steps both
        // recorded are 1, 2, 4, 5, at tokens 100, 200, 400, 500:
        //   5 − 4 = 1, 3.5 − 3 = 0.5, 2.5 − 2 = 0.5, 2 − 1.6 = 0.4
        //   5 / 4 = 1.25, 3.5 / 3 = 7/6, 2.5 / 2 = 1.25, 2 / 1.6 = 1.25
        QCOMPARE(graphsWithRole(loss, QStringLiteral("derived"), baseline_).size(), 0);
        const auto derived = graphsWithRole(loss, QStringLiteral("derived"), other_);
        QCOMPARE(derived.size(), 2);
        const QCPGraph* difference =
            derived[0]->name().contains(QStringLiteral("−")) ? derived[0] : derived[1];
        const QCPGraph* ratio = difference == derived[0] ? derived[1] : derived[0];
        const std::vector<double> xs = {100, 200, 400, 500};
        const std::vector<double> diffs = {1.0, 0.5, 0.5, 0.4};
        const std::vector<double> ratios = {1.25, 7.0 / 6.0, 1.25, 1.25};
        const auto dp = pointsOf(difference);
        const auto rp = pointsOf(ratio);
        QCOMPARE(dp.size(), size_t{4});
        QCOMPARE(rp.size(), size_t{4});
        for (size_t i = 0; i < 4; ++i) {
            QCOMPARE(dp[i].first, xs[i]);
            QVERIFY(std::abs(dp[i].second - diffs[i]) < 1e-12);
            QVERIFY(std::abs(rp[i].second - ratios[i]) < 1e-12);
        }
        QVERIFY(difference->name().startsWith(QLatin1String("other")));
        QCOMPARE(difference->pen().style(), Qt::DotLine);
        // Without a baseline the differences go, the chart stays.
        view.setBaselineRun(std::nullopt);
        QCOMPARE(graphsWithRole(loss, QStringLiteral("derived")).size(), 0);
    }

    void stackedChartsShareTheirXRangeAndAxisEdges() {
        RunsModel model;
        ChartsView view(&model);
        WorkspaceWorker worker(dir_.path());
        wire(model, view, worker);
        view.resize(1000, 1400);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        const QStringList keys = view.shownKeys();
        QCOMPARE(keys,
                 QStringList({QStringLiteral("train/loss"),
                              QStringLiteral("lr"),
                              QStringLiteral("throughput/tokens_per_s")}));
        ScalarChart* loss = view.chart(keys[0]);
        ScalarChart* lr = view.chart(keys[1]);
        ScalarChart* throughput = view.chart(keys[2]);

        // In the grid a range stays on its chart, and the plots' left edges differ with their
        // tick labels (what the stacked mode has to correct).
        loss->plot()->xAxis->setRange(2, 4);
        QVERIFY(!lr->isZoomed());
        QCOMPARE(loss->plot()->axisRect()->marginGroup(QCP::msLeft), nullptr);
        replotAll(view);
        QVERIFY(lr->plot()->axisRect()->left() != throughput->plot()->axisRect()->left());
        loss->resetZoom();

        view.setMode(ChartsMode::kStacked);
        // One column.
        auto* grid = qobject_cast<QGridLayout*>(loss->parentWidget()->layout());
        QVERIFY(grid);
        for (int i = 0; i < keys.size(); ++i) {
            int row = -1, column = -1, rows = 0, columns = 0;
            grid->getItemPosition(
                grid->indexOf(view.chart(keys[i])), &row, &column, &rows, &columns);
            QCOMPARE(row, i);
            QCOMPARE(column, 0);
        }
        // A range set on one chart (as a drag or the wheel sets it) is set on all.
        lr->plot()->xAxis->setRange(2, 4);
        for (ScalarChart* c : {loss, lr, throughput}) {
            QVERIFY(c->isZoomed());
            QCOMPARE(c->xRange(), std::make_pair(2.0, 4.0));
        }
        throughput->resetZoom();
        for (ScalarChart* c : {loss, lr, throughput}) {
            QVERIFY(!c->isZoomed());
        }
        // One margin group: the axis rects share their left and right edges.
        QCPMarginGroup* group = loss->plot()->axisRect()->marginGroup(QCP::msLeft);
        QVERIFY(group);
        replotAll(view);
        for (ScalarChart* c : {lr, throughput}) {
            QCOMPARE(c->plot()->axisRect()->marginGroup(QCP::msLeft), group);
            QCOMPARE(c->plot()->axisRect()->left(), loss->plot()->axisRect()->left());
            QCOMPARE(c->plot()->axisRect()->right(), loss->plot()->axisRect()->right());
        }
        // Removing a chart keeps the others stacked and aligned; back to the grid, no group.
        view.removeChart(QStringLiteral("lr"));
        QCOMPARE(view.shownKeys().size(), 2);
        QVERIFY(lr->isHidden());
        view.setMode(ChartsMode::kGrid);
        QCOMPARE(loss->plot()->axisRect()->marginGroup(QCP::msLeft), nullptr);
    }

private:
    void wire(RunsModel& model, ChartsView& view, WorkspaceWorker& worker) {
        connect(&worker, &WorkspaceWorker::runsRead, &model, &RunsModel::setRuns);
        connect(&worker, &WorkspaceWorker::chartsRead, &view, &ChartsView::onChartsRead);
        connect(&view, &ChartsView::displayChanged, &worker, &WorkspaceWorker::setDisplay);
        connect(&view, &ChartsView::chartViewChanged, &worker, &WorkspaceWorker::setChartView);
        connect(
            &view, &ChartsView::seriesOptionsChanged, &worker, &WorkspaceWorker::setSeriesOptions);
        worker.open(0);
        worker.setVisibleRuns({baseline_, other_});
    }

    static void replotAll(ChartsView& view) {
        // Twice: the first pass lays out each plot with the others' margins as they were.
        for (int pass = 0; pass < 2; ++pass) {
            for (ScalarChart* c : view.charts()) {
                c->plot()->replot();
            }
        }
    }

    QTemporaryDir dir_;
    int64_t baseline_ = 0;
    int64_t other_ = 0;
};

QTEST_MAIN(ChartsViewTest)
#include "charts_view_test.moc"
