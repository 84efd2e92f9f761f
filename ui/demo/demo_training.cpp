#include "demo/demo_training.h"

#include "lowbit/store/workspace.h"

#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTextStream>
#include <QTimer>

#include "controllers/run_launcher.h"
#include "widgets/snapshot.h"

namespace lowbit::ui {

namespace {

// How often the headless demo reports progress.
constexpr qint64 kReportIntervalMs = 5000;

bool setsKey(const QStringList& options, const QString& key) {
    for (qsizetype i = 0; i + 1 < options.size(); ++i) {
        if (options[i] == QLatin1String("--set") &&
            options[i + 1].startsWith(key + QLatin1Char('='))) {
            return true;
        }
    }
    return false;
}

QString progressLine(const Launch& launch) {
    if (launch.run_id == 0) {
        return QStringLiteral("demo: starting (preparing the corpus and the first evaluation)");
    }
    return QStringLiteral("demo: run %1, step %2/%3, %4 tokens/s, ETA %5 s")
        .arg(launch.run_id)
        .arg(launch.step)
        .arg(launch.steps)
        .arg(launch.tokens_per_s, 0, 'f', 0)
        .arg(launch.eta_s, 0, 'f', 0);
}

}  // namespace

QString demo_workspace_root() {
    const auto root = store::Workspace::default_root().parent_path() / "demo-workspace";
    return QString::fromStdString(root.string());
}

bool display_available() {
    if (qEnvironmentVariable("QT_QPA_PLATFORM") == QLatin1String("offscreen")) {
        return false;
    }
    return !qEnvironmentVariableIsEmpty("DISPLAY") ||
           !qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY");
}

QStringList demo_train_options(const QStringList& extra) {
    // Histograms after step 1 and every 10 steps: the first ones show within the demo's first
    // minute (the recipe's default, every 100 steps, can take minutes on a CPU).
    return QStringList{QStringLiteral("--set"),
                       QStringLiteral("telemetry.every=10"),
                       QStringLiteral("--set"),
                       QStringLiteral("telemetry.steps=1")} +
           extra;
}

int run_headless_demo(const HeadlessDemoOptions& options, QTextStream& out) {
    if (options.engine.isEmpty()) {
        out << "demo: no lowbit engine found (next to lowbit-studio or on PATH)\n";
        out.flush();
        return 1;
    }
    try {
        store::Workspace::open(options.workspace.toStdString());
    } catch (const std::exception& error) {
        out << "demo: " << QString::fromStdString(error.what()) << "\n";
        out.flush();
        return 2;
    }
    QStringList extra = options.extra;
    if (!setsKey(extra, QStringLiteral("train.steps"))) {
        extra.prepend(QStringLiteral("train.steps=300"));
        extra.prepend(QStringLiteral("--set"));
    }
    out << "demo: no display, so the demo trains headless into " << options.workspace << "\n"
        << "demo: " << options.engine << " train " << demo_train_options(extra).join(' ') << "\n";
    out.flush();

    RunLauncher launcher(options.workspace, options.engine);
    const int id = launcher.enqueueTrain(QString(), {}, demo_train_options(extra));
    QEventLoop loop;
    QElapsedTimer since_report;
    since_report.start();
    QObject::connect(&launcher, &RunLauncher::launchChanged, &loop, [&](int changed) {
        const Launch* launch = launcher.launch(changed);
        if (changed != id || launch == nullptr) {
            return;
        }
        if (launch->state == Launch::State::kEnded) {
            loop.quit();
        } else if (since_report.elapsed() >= kReportIntervalMs) {
            out << progressLine(*launch) << "\n";
            out.flush();
            since_report.restart();
        }
    });
    if (launcher.launch(id)->state != Launch::State::kEnded) {
        loop.exec();
    }
    const Launch& launch = *launcher.launch(id);
    out << "demo: the engine ended: " << launch.outcome << "\n";
    if (launch.outcome != QLatin1String("completed")) {
        out << launch.console.right(4000);
        out.flush();
        return 1;
    }

    const QString folder = QDir(options.workspace).filePath(QStringLiteral("snapshots"));
    QDir().mkpath(folder);
    int code = 0;
    QStringList written;
    for (const QString& view : {QStringLiteral("charts"), QStringLiteral("histograms")}) {
        SnapshotOptions snapshot;
        snapshot.workspace = options.workspace;
        snapshot.view = view;
        snapshot.runs = {QString::number(launch.run_id)};
        snapshot.dark = options.dark;
        snapshot.out = QDir(folder).filePath(
            QStringLiteral("demo-run-%1-%2.png").arg(launch.run_id).arg(view));
        QString error;
        const int result = render_snapshot(snapshot, error);
        if (result == 0) {
            written << snapshot.out;
        } else if (result == 2 && view == QLatin1String("histograms")) {
            out << "demo: no histogram snapshot (" << error << ")\n";
        } else {
            out << "demo: " << view << " snapshot: " << error << "\n";
            code = 1;
        }
    }
    out << "demo: run " << launch.run_id << " is recorded in " << options.workspace << "\n";
    for (const QString& path : written) {
        out << "snapshot: " << path << "\n";
    }
    out.flush();
    return code;
}

}  // namespace lowbit::ui
