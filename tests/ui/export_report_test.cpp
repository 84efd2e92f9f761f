// Plot export and the run report (docs/studio.md §Export and reports): a scalar chart's CSV
// against its drawn containers and a hand-worked EMA, the PNG sizes at 1× and 2×, the PDF's
// framing, a heatmap's CSV cells, the report of the demo workspace (sections, pages, the
// lowest-bit run's health) and the refusals of the report command, the workspace unchanged.
#include <QAbstractItemModelTester>
#include <QCryptographicHash>
#include <QFile>
#include <QImage>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardItemModel>
#include <QTemporaryDir>
#include <QTest>

#include <map>
#include <vector>

#include "charts/chart_series_builder.h"
#include "charts/derived_series.h"
#include "charts/scalar_chart.h"
#include "demo/demo_workspace.h"
#include "export/plot_export.h"
#include "report/first_rows_proxy.h"
#include "report/run_report.h"

using namespace lowbit;
using namespace lowbit::ui;

namespace {

QByteArray sha256_of(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return {};
    }
    return QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256);
}

QByteArray contents(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// Rows of a CSV without quoted fields, the header first.
std::vector<QStringList> csv_rows(const QString& csv) {
    std::vector<QStringList> rows;
    for (const QString& line : csv.split(QLatin1Char('\n'), Qt::SkipEmptyParts)) {
        rows.push_back(line.split(QLatin1Char(',')));
    }
    return rows;
}

// Pages of a PDF as its page objects say (the page tree itself is "/Type /Pages").
int pdf_pages(const QByteArray& pdf) {
    return static_cast<int>(
        QString::fromLatin1(pdf).count(QRegularExpression(QStringLiteral("/Type\\s*/Page[^s]"))));
}

bool is_pdf(const QByteArray& pdf) {
    return pdf.startsWith("%PDF-") && pdf.trimmed().endsWith("%%EOF");
}

store::ScalarPoint point(int64_t run, int64_t step, double value) {
    store::ScalarPoint p;
    p.row_id = run * 100 + step;
    p.run_id = run;
    p.key = "train/loss";
    p.step = step;
    p.tokens = step * 64;
    p.wall_time = static_cast<double>(step);
    p.value = value;
    return p;
}

// A chart of two runs: run 1 is 1, 2, 4 at steps 1..3, run 2 is 3, 3, 6.
ScalarChart* hand_chart(double smoothing) {
    ChartSeriesBuilder builder;
    builder.add_scalars({point(1, 1, 1.0), point(1, 2, 2.0), point(1, 3, 4.0)});
    builder.add_scalars({point(2, 1, 3.0), point(2, 2, 3.0), point(2, 3, 6.0)});
    ChartRequest request;
    request.smoothing = smoothing;
    auto* chart = new ScalarChart(QStringLiteral("train/loss"));
    chart->setChartData(
        builder.build("train/loss", {1, 2}, request),
        {{1, {Qt::blue, QStringLiteral("one"), {}}}, {2, {Qt::red, QStringLiteral("two"), {}}}});
    return chart;
}

}  // namespace

class ExportReportTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void scalarCsvIsTheDrawnData();
    void pngAtTwiceTheScaleHasTwiceThePixels();
    void pdfExportIsAPdfAndBadPathsAreNamed();
    void heatmapCsvNamesEveryCell();
    void firstRowsProxyKeepsTheFirstRows();
    void reportOfTheDemoRuns();
    void reportRefusesAnUnknownRun();
    void reportCommandExitCodes();

private:
    QTemporaryDir dir_;
};

void ExportReportTest::scalarCsvIsTheDrawnData() {
    std::unique_ptr<ScalarChart> chart(hand_chart(0.5));
    const QString csv = scalar_chart_csv(chart->chartData(), {{1, QStringLiteral("one")}});
    const auto rows = csv_rows(csv);
    QCOMPARE(rows.front(),
             QStringList({"run_id", "run", "series", "x_axis", "x", "raw", "smoothed"}));
    // Point for point the containers of the graphs on the plot: each raw graph is followed by its
    // run's smoothed graph.
    std::map<int64_t, std::vector<QStringList>> by_run;
    for (size_t i = 1; i < rows.size(); ++i) {
        by_run[rows[i][0].toLongLong()].push_back(rows[i]);
    }
    QCOMPARE(by_run.size(), size_t(2));
    int compared = 0;
    for (int g = 0; g + 1 < chart->plot()->graphCount(); ++g) {
        QCPGraph* raw = chart->plot()->graph(g);
        if (raw->property("role").toString() != QLatin1String("raw")) {
            continue;
        }
        QCPGraph* smooth = chart->plot()->graph(g + 1);
        const int64_t run = smooth->property("run").toLongLong();
        const auto& lines = by_run[run];
        QCOMPARE(lines.size(), size_t(raw->data()->size()));
        QCOMPARE(lines.size(), size_t(smooth->data()->size()));
        for (int i = 0; i < raw->data()->size(); ++i) {
            QCOMPARE(lines[static_cast<size_t>(i)][2], chart->key());
            QCOMPARE(lines[static_cast<size_t>(i)][4].toDouble(), raw->data()->at(i)->key);
            QCOMPARE(lines[static_cast<size_t>(i)][5].toDouble(), raw->data()->at(i)->value);
            QCOMPARE(lines[static_cast<size_t>(i)][6].toDouble(), smooth->data()->at(i)->value);
            ++compared;
        }
    }
    QCOMPARE(compared, 6);
    // The names given, else the id; the x axis named.
    QCOMPARE(by_run[1][0][1], QStringLiteral("one"));
    QCOMPARE(by_run[2][0][1], QStringLiteral("2"));
    QCOMPARE(by_run[1][0][3], QStringLiteral("step"));
    // The debiased EMA worked by hand for 1, 2, 4 with weight 0.5: the running value is
    // 0.5, 1.25, 2.625 and the debias factors 1 - 0.5^n are 0.5, 0.75, 0.875, so 1, 5/3, 3.
    const double expected[] = {1.0, 5.0 / 3.0, 3.0};
    for (size_t i = 0; i < 3; ++i) {
        QVERIFY(std::abs(by_run[1][i][6].toDouble() - expected[i]) < 1e-12);
        QCOMPARE(by_run[1][i][4].toDouble(), static_cast<double>(i + 1));  // the step
    }

    // A right-axis key and a derived series are exported with their own series names, their
    // points as drawn.
    ChartData data = chart->chartData();
    data.secondary_key = QStringLiteral("lr");
    RunChartData lr;
    lr.run_id = 1;
    lr.raw = QSharedPointer<QCPGraphDataContainer>::create();
    lr.raw->add(QCPGraphData(1, 0.5));
    lr.raw->add(QCPGraphData(2, 0.25));
    data.secondary.push_back(lr);
    DerivedCurve derivative;
    derivative.run_id = 2;
    derivative.spec.kind = DerivedKind::kDerivative;
    derivative.points = QSharedPointer<QCPGraphDataContainer>::create();
    derivative.points->add(QCPGraphData(3, -7));
    data.derived.push_back(derivative);
    const auto extended = csv_rows(scalar_chart_csv(data, {{1, QStringLiteral("one")}}));
    const QString derived_series =
        chart->key() + QLatin1Char(' ') + QString::fromStdString(derived_suffix(derivative.spec));
    std::vector<QStringList> extra;
    for (const QStringList& row : extended) {
        if (row.size() > 2 && (row[2] == QLatin1String("lr") || row[2] == derived_series)) {
            extra.push_back(row);
        }
    }
    QCOMPARE(extra.size(), size_t(3));
    QCOMPARE(extra[0], QStringList({"1", "one", "lr", "step", "1", "0.5", ""}));
    QCOMPARE(extra[1], QStringList({"1", "one", "lr", "step", "2", "0.25", ""}));
    QCOMPARE(extra[2], QStringList({"2", "2", derived_series, "step", "3", "-7", ""}));
}

void ExportReportTest::pngAtTwiceTheScaleHasTwiceThePixels() {
    std::unique_ptr<ScalarChart> chart(hand_chart(0.6));
    chart->setAttribute(Qt::WA_DontShowOnScreen);
    chart->resize(420, 310);
    chart->show();
    QApplication::processEvents();
    const QString one = dir_.filePath(QStringLiteral("chart.png"));
    const QString two = dir_.filePath(QStringLiteral("chart@2x.png"));
    QCOMPARE(export_plot_png(*chart->plot(), one, 1.0), QString());
    QCOMPARE(export_plot_png(*chart->plot(), two, 2.0), QString());
    const QImage small(one);
    const QImage large(two);
    QVERIFY(!small.isNull());
    QCOMPARE(small.size(), chart->plot()->size());
    QCOMPARE(large.width(), 2 * small.width());
    QCOMPARE(large.height(), 2 * small.height());
}

void ExportReportTest::pdfExportIsAPdfAndBadPathsAreNamed() {
    std::unique_ptr<ScalarChart> chart(hand_chart(0.6));
    chart->resize(420, 310);
    const QString pdf = dir_.filePath(QStringLiteral("chart.pdf"));
    QCOMPARE(export_plot_pdf(*chart->plot(), pdf), QString());
    QVERIFY(is_pdf(contents(pdf)));
    QCOMPARE(pdf_pages(contents(pdf)), 1);
    // A folder that does not exist: a message naming the path, no file, for every format.
    const QString missing = dir_.filePath(QStringLiteral("no-such-folder/chart"));
    for (const QString suffix : {".png", ".pdf", ".csv"}) {
        const QString path = missing + suffix;
        const QString error =
            suffix == QLatin1String(".png")   ? export_plot_png(*chart->plot(), path)
            : suffix == QLatin1String(".pdf") ? export_plot_pdf(*chart->plot(), path)
                                              : export_csv(QStringLiteral("a\n"), path);
        QVERIFY2(error.contains(path), qPrintable(error));
        QVERIFY(!QFile::exists(path));
    }
    QVERIFY(QDir(dir_.filePath(QStringLiteral("no-such-folder"))).exists() == false);
}

void ExportReportTest::heatmapCsvNamesEveryCell() {
    QCustomPlot plot;
    auto* map = new QCPColorMap(plot.xAxis, plot.yAxis);
    map->setName(QStringLiteral("SQNR (dB)"));
    map->data()->setSize(2, 2);
    map->data()->setRange(QCPRange(0, 1), QCPRange(0, 1));
    // Cell (step index i, layer index k) holds 10 * i + k.
    for (int i = 0; i < 2; ++i) {
        for (int k = 0; k < 2; ++k) {
            map->data()->setCell(i, k, 10.0 * i + k);
        }
    }
    map->setProperty("x_labels", QStringList({"100", "200"}));
    map->setProperty("y_labels", QStringList({"blocks.0.fc", "lm_head"}));
    const auto rows = csv_rows(plot_csv(plot));
    QCOMPARE(rows.front(),
             QStringList({"series", "role", "run_id", "x", "x_label", "y", "y_label", "value"}));
    QCOMPARE(rows.size(), size_t(5));
    for (size_t r = 1; r < rows.size(); ++r) {
        const int i = rows[r][3].toInt();
        const int k = rows[r][5].toInt();
        QCOMPARE(rows[r][0], QStringLiteral("SQNR (dB)"));
        QCOMPARE(rows[r][4], i == 0 ? QStringLiteral("100") : QStringLiteral("200"));
        QCOMPARE(rows[r][6], k == 0 ? QStringLiteral("blocks.0.fc") : QStringLiteral("lm_head"));
        QCOMPARE(rows[r][7].toDouble(), 10.0 * i + k);
    }
}

void ExportReportTest::firstRowsProxyKeepsTheFirstRows() {
    QStandardItemModel source(5, 2);
    for (int r = 0; r < 5; ++r) {
        source.setItem(r, 0, new QStandardItem(QString::number(r)));
    }
    FirstRowsProxy proxy(3);
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    proxy.setSourceModel(&source);
    QCOMPARE(proxy.rowCount(), 3);
    QCOMPARE(proxy.index(2, 0).data().toString(), QStringLiteral("2"));
    QVERIFY(!proxy.index(3, 0).isValid());
    FirstRowsProxy all(10);
    all.setSourceModel(&source);
    QCOMPARE(all.rowCount(), 5);
}

void ExportReportTest::reportOfTheDemoRuns() {
    const QString root = dir_.filePath(QStringLiteral("demo"));
    write_demo_workspace(root.toStdString(), {200, false});
    const QByteArray before = sha256_of(root + QStringLiteral("/runs.sqlite"));
    ReportRequest request;
    request.workspace = root;
    request.runs = {
        QStringLiteral("baseline-fp32"), QStringLiteral("w8a8g8"), QStringLiteral("w4a4g4")};
    request.out = dir_.filePath(QStringLiteral("report.pdf"));
    request.page_images = dir_.filePath(QStringLiteral("pages"));
    QString error;
    ReportOutline outline;
    QCOMPARE(write_report(request, error, &outline), 0);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    const QByteArray pdf = contents(request.out);
    QVERIFY(is_pdf(pdf));
    // The PDF has the pages the layout turned, and the page images are the same pages.
    QCOMPARE(pdf_pages(pdf), outline.pages);
    QCOMPARE(static_cast<int>(QDir(request.page_images)
                                  .entryList({QStringLiteral("page-*.png")}, QDir::Files)
                                  .size()),
             outline.pages);
    QStringList titles;
    for (const ReportSection& section : outline.sections) {
        titles << section.title;
    }
    // Health pages go to the lowest-bit configurations first: W4A4G4's lowest width is 4, W8A8G8's
    // 8, the fp32 baseline's 32 (demo_workspace.cpp writes those bit-widths).
    QCOMPARE(titles,
             QStringList({"Lowbit Studio report",
                          "Loss curves by configuration",
                          "Seed groups",
                          "Config diff",
                          "Results",
                          "Quantization health: w4a4g4 (#3)",
                          "Quantization health: w8a8g8 (#2)",
                          "Quantization health: baseline-fp32 (#1)",
                          "Trade-off"}));
    for (size_t s = 1; s < outline.sections.size(); ++s) {
        QVERIFY(outline.sections[s].first_page > outline.sections[s - 1].first_page);
    }
    QCOMPARE(outline.sections.back().first_page, outline.pages);  // the scatter ends it
    QCOMPARE(outline.runs, (std::vector<int64_t>{1, 2, 3}));
    QCOMPARE(sha256_of(root + QStringLiteral("/runs.sqlite")), before);
}

void ExportReportTest::reportRefusesAnUnknownRun() {
    const QString root = dir_.filePath(QStringLiteral("refuse"));
    write_demo_workspace(root.toStdString(), {60, false});
    const QByteArray before = sha256_of(root + QStringLiteral("/runs.sqlite"));
    ReportRequest request;
    request.workspace = root;
    request.runs = {QStringLiteral("w8a8g8"), QStringLiteral("no-such-run")};
    request.out = dir_.filePath(QStringLiteral("refused.pdf"));
    QString error;
    QCOMPARE(write_report(request, error), 2);
    QVERIFY2(error.contains(QStringLiteral("no-such-run")), qPrintable(error));
    QVERIFY(!QFile::exists(request.out));
    // An output in a folder that does not exist.
    request.runs = {QStringLiteral("w8a8g8")};
    request.out = dir_.filePath(QStringLiteral("missing/report.pdf"));
    QCOMPARE(write_report(request, error), 2);
    QVERIFY2(error.contains(request.out), qPrintable(error));
    QVERIFY(!QFile::exists(request.out));
    // Not a workspace.
    request.workspace = dir_.filePath(QStringLiteral("nothing-here"));
    request.out = dir_.filePath(QStringLiteral("refused.pdf"));
    QCOMPARE(write_report(request, error), 2);
    QVERIFY(!QFile::exists(request.out));
    QVERIFY(!QDir(request.workspace).exists());
    QCOMPARE(sha256_of(root + QStringLiteral("/runs.sqlite")), before);
}

void ExportReportTest::reportCommandExitCodes() {
    const QString root = dir_.filePath(QStringLiteral("cli"));
    write_demo_workspace(root.toStdString(), {60, false});
    const QString database = root + QStringLiteral("/runs.sqlite");
    const QByteArray before = sha256_of(database);
    auto studio = [&](const QStringList& arguments, QString* err = nullptr) {
        QProcess process;
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.remove(QStringLiteral("QT_QPA_PLATFORM"));  // it must go offscreen itself
        environment.remove(QStringLiteral("DISPLAY"));
        environment.remove(QStringLiteral("WAYLAND_DISPLAY"));
        process.setProcessEnvironment(environment);
        process.start(QStringLiteral(LOWBIT_STUDIO_BINARY), arguments);
        process.waitForFinished(120000);
        if (err != nullptr) {
            *err = QString::fromLocal8Bit(process.readAllStandardError());
        }
        return process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    };
    const QString out = dir_.filePath(QStringLiteral("cli.pdf"));
    QString err;
    QCOMPARE(studio({"--workspace", root, "--report", out, "--runs", "1,w4a4g4"}, &err), 0);
    QVERIFY2(is_pdf(contents(out)), qPrintable(err));
    const QString unknown = dir_.filePath(QStringLiteral("unknown.pdf"));
    QCOMPARE(studio({"--workspace", root, "--report", unknown, "--runs", "w8a8g8,w2-nope"}, &err),
             2);
    QVERIFY2(err.contains(QStringLiteral("w2-nope")), qPrintable(err));
    QVERIFY(!QFile::exists(unknown));
    const QString unwritable = dir_.filePath(QStringLiteral("absent/out.pdf"));
    QCOMPARE(studio({"--workspace", root, "--report", unwritable, "--runs", "w8a8g8"}, &err), 2);
    QVERIFY2(err.contains(unwritable), qPrintable(err));
    QCOMPARE(studio({"--workspace", root, "--report", unknown}, &err), 2);  // no --runs
    QVERIFY(!QFile::exists(unknown));
    QCOMPARE(sha256_of(database), before);
}

QTEST_MAIN(ExportReportTest)
#include "export_report_test.moc"
