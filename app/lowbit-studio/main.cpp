// lowbit-studio: the desktop front end. Argument parsing and wiring of lowbit_ui only:
//   lowbit-studio [--workspace DIR] [--theme system|light|dark]
//   lowbit-studio --demo [--workspace DIR] [-- LOWBIT-TRAIN-OPTIONS...]
//   lowbit-studio --workspace DIR --snapshot OUT.png --view
//   runs|editor|charts|histograms|compare|health|tradeoff|qat-editor|qat-phases|qat-results
//                 [--runs A,B] [--layer L --kind K] [--metric M]
//   lowbit-studio --workspace DIR --report OUT.pdf --runs A,B,... [--report-pages DIR]
#include "lowbit/store/workspace.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QSettings>
#include <QTemporaryDir>
#include <QTextStream>

#include <cstdio>
#include <exception>

#include "controllers/engine_locator.h"
#include "controllers/run_launcher.h"
#include "demo/demo_training.h"
#include "demo/demo_workspace.h"
#include "main_window.h"
#include "report/run_report.h"
#include "widgets/app_palette.h"
#include "widgets/snapshot.h"

namespace {

int usage_error(const QString& message) {
    std::fprintf(stderr, "lowbit-studio: %s\n", qPrintable(message));
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    // A snapshot and a report render offscreen, and so does the demo without a display: they
    // need none.
    for (int i = 1; i < argc && QByteArray(argv[i]) != "--"; ++i) {
        const QByteArray arg(argv[i]);
        const bool offscreen = arg == "--snapshot" || arg == "--report" ||
                               (arg == "--demo" && !lowbit::ui::display_available());
        if (offscreen && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
            qputenv("QT_QPA_PLATFORM", "offscreen");
        }
    }
    // What follows "--" goes to `lowbit train` untouched: Qt must not see it, since it takes some
    // options for itself wherever they are (xcb's -name, -display, ...).
    int qt_argc = argc;
    QStringList after_dashes;
    for (int i = 1; i < argc; ++i) {
        if (QByteArray(argv[i]) == "--") {
            qt_argc = i;
            for (int j = i + 1; j < argc; ++j) {
                after_dashes << QString::fromLocal8Bit(argv[j]);
            }
            break;
        }
    }
    QApplication app(qt_argc, argv);
    QApplication::setOrganizationName(QStringLiteral("lowbit"));
    QApplication::setApplicationName(QStringLiteral("lowbit-studio"));
    QApplication::setApplicationVersion(QStringLiteral(LOWBIT_STUDIO_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("lowbit-studio"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Lowbit Studio: low-bit training workbench"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption workspace({QStringLiteral("w"), QStringLiteral("workspace")},
                                       QStringLiteral("Workspace folder"),
                                       QStringLiteral("DIR"));
    const QCommandLineOption demo(
        QStringLiteral("demo"),
        QStringLiteral("Train the built-in default recipe in the demo workspace and watch it (no "
                       "display: train headless and write snapshots); options after -- go to "
                       "lowbit train. With --snapshot: render a generated sample workspace"));
    const QCommandLineOption theme(
        QStringLiteral("theme"), QStringLiteral("system, light or dark"), QStringLiteral("THEME"));
    const QCommandLineOption snapshot(QStringLiteral("snapshot"),
                                      QStringLiteral("Render a view to OUT.png and exit"),
                                      QStringLiteral("OUT.png"));
    const QCommandLineOption report(
        QStringLiteral("report"),
        QStringLiteral("Write the report of the --runs to OUT.pdf and exit"),
        QStringLiteral("OUT.pdf"));
    const QCommandLineOption report_pages(
        QStringLiteral("report-pages"),
        QStringLiteral("With --report: also draw each page to DIR/page-NN.png"),
        QStringLiteral("DIR"));
    const QCommandLineOption view(
        QStringLiteral("view"),
        QStringLiteral("runs, editor, charts, histograms, compare, health, crossrun, tradeoff, "
                       "qat-editor, qat-phases or qat-results"),
        QStringLiteral("VIEW"));
    const QCommandLineOption runs(QStringLiteral("runs"),
                                  QStringLiteral("Runs to show (ids or names, comma separated)"),
                                  QStringLiteral("A,B"));
    const QCommandLineOption layer(
        QStringLiteral("layer"), QStringLiteral("Layer"), QStringLiteral("L"));
    const QCommandLineOption kind(
        QStringLiteral("kind"), QStringLiteral("Tensor kind"), QStringLiteral("K"));
    const QCommandLineOption metric(QStringLiteral("metric"),
                                    QStringLiteral("Health metric (sqnr_db, underflow, ...)"),
                                    QStringLiteral("M"));
    parser.addOptions(
        {workspace, demo, theme, snapshot, report, report_pages, view, runs, layer, kind, metric});
    if (!parser.parse(QApplication::arguments())) {
        return usage_error(parser.errorText());
    }
    if (parser.isSet(QStringLiteral("help"))) {
        parser.showHelp(0);
    }
    if (parser.isSet(QStringLiteral("version"))) {
        parser.showVersion();
    }
    const QStringList train_options = parser.positionalArguments() + after_dashes;
    if (!train_options.isEmpty() &&
        (!parser.isSet(demo) || parser.isSet(snapshot) || parser.isSet(report))) {
        return usage_error(QStringLiteral("unexpected argument '%1'").arg(train_options.first()));
    }
    const QString theme_name = parser.isSet(theme)
                                   ? parser.value(theme)
                                   : QSettings().value(QStringLiteral("view/theme")).toString();
    if (parser.isSet(theme) && !QStringList{"system", "light", "dark"}.contains(theme_name)) {
        return usage_error(
            QStringLiteral("--theme %1: expected system, light or dark").arg(theme_name));
    }
    const bool dark =
        lowbit::ui::apply_colour_scheme(lowbit::ui::colour_scheme_from_string(theme_name));

    QTemporaryDir demo_dir;
    QString root = parser.isSet(workspace)
                       ? parser.value(workspace)
                       : QString::fromStdString(lowbit::store::Workspace::default_root().string());
    if (parser.isSet(demo) && parser.isSet(snapshot)) {
        // The generated sample workspace (synthetic runs), rendered by --snapshot for the tests.
        try {
            lowbit::ui::write_demo_workspace(demo_dir.path().toStdString());
        } catch (const std::exception& error) {
            return usage_error(QString::fromStdString(error.what()));
        }
        root = demo_dir.path();
    }

    if (parser.isSet(report)) {
        // The report of runs of an existing workspace (docs/studio.md §Export and reports).
        if (!parser.isSet(workspace) || parser.isSet(demo) || parser.isSet(snapshot)) {
            return usage_error(QStringLiteral("--report needs --workspace DIR and --runs A,B,..."));
        }
        for (const QCommandLineOption* only : {&view, &layer, &kind, &metric}) {
            if (parser.isSet(*only)) {
                return usage_error(
                    QStringLiteral("--%1 is not used with --report").arg(only->names().last()));
            }
        }
        lowbit::ui::ReportRequest request;
        request.workspace = root;
        request.out = parser.value(report);
        request.page_images = parser.value(report_pages);
        request.runs = parser.value(runs).split(QLatin1Char(','), Qt::SkipEmptyParts);
        QString error;
        const int code = lowbit::ui::write_report(request, error);
        if (code != 0) {
            std::fprintf(stderr, "lowbit-studio: %s\n", qPrintable(error));
        }
        return code;
    }
    if (parser.isSet(snapshot)) {
        if (!parser.isSet(workspace) && !parser.isSet(demo)) {
            return usage_error(QStringLiteral("--snapshot needs --workspace DIR (or --demo)"));
        }
        if (!parser.isSet(view)) {
            return usage_error(QStringLiteral(
                "--snapshot needs --view "
                "runs|editor|charts|histograms|compare|health|crossrun|tradeoff|qat-editor|"
                "qat-phases|qat-results"));
        }
        lowbit::ui::SnapshotOptions options;
        options.workspace = root;
        options.out = parser.value(snapshot);
        options.view = parser.value(view);
        if (parser.isSet(runs)) {
            options.runs = parser.value(runs).split(QLatin1Char(','), Qt::SkipEmptyParts);
        }
        options.layer = parser.value(layer);
        options.kind = parser.value(kind);
        options.metric = parser.value(metric);
        options.dark = dark;
        QString error;
        const int code = lowbit::ui::render_snapshot(options, error);
        if (code != 0) {
            std::fprintf(stderr, "lowbit-studio: %s\n", qPrintable(error));
        }
        return code;
    }
    if (parser.isSet(report_pages)) {
        return usage_error(QStringLiteral("--report-pages is used with --report only"));
    }
    for (const QCommandLineOption* only : {&view, &runs, &layer, &kind, &metric}) {
        if (parser.isSet(*only)) {
            return usage_error(QStringLiteral("--%1 is used with --snapshot or --report only")
                                   .arg(only->names().last()));
        }
    }

    if (parser.isSet(demo)) {
        // The live demo: a real run of the built-in default recipe (docs/studio.md §The demo).
        root =
            parser.isSet(workspace) ? parser.value(workspace) : lowbit::ui::demo_workspace_root();
        if (!lowbit::ui::display_available()) {
            const QString engine = lowbit::ui::locate_engine(
                QSettings().value(QStringLiteral("engine/path")).toString());
            QTextStream out(stdout);
            return lowbit::ui::run_headless_demo({root, engine, train_options, dark}, out);
        }
    }
    // A new folder becomes an empty workspace; a folder that is not one is refused.
    try {
        lowbit::store::Workspace::open(root.toStdString());
    } catch (const std::exception& error) {
        return usage_error(QString::fromStdString(error.what()));
    }
    lowbit::ui::MainWindow window;
    window.openWorkspace(root);
    if (parser.isSet(demo)) {
        window.launcher()->enqueueTrain(
            QString(), {}, lowbit::ui::demo_train_options(train_options));
    }
    window.show();
    return QApplication::exec();
}
