#include "controllers/run_launcher.h"

#include "lowbit/events/run_event_json.h"
#include "lowbit/store/run_liveness.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSaveFile>

#include <variant>

#include <signal.h>

namespace lowbit::ui {

namespace {

const char* stateName(Launch::State state) {
    switch (state) {
        case Launch::State::kQueued:
            return "queued";
        case Launch::State::kRunning:
            return "running";
        case Launch::State::kEnded:
            return "ended";
    }
    return "ended";
}

Launch::State stateFromName(const QString& name) {
    if (name == QLatin1String("queued")) {
        return Launch::State::kQueued;
    }
    return name == QLatin1String("running") ? Launch::State::kRunning : Launch::State::kEnded;
}

}  // namespace

RunLauncher::RunLauncher(QString workspace, QString engine, QObject* parent)
    : QObject(parent), workspace_(std::move(workspace)), engine_(std::move(engine)) {
    load();
    timer_.setInterval(250);
    connect(&timer_, &QTimer::timeout, this, &RunLauncher::poll);
    timer_.start();
}

QString RunLauncher::logFolder() const {
    return QDir(workspace_).filePath(QStringLiteral("studio-logs"));
}

void RunLauncher::setConcurrency(int limit) {
    concurrency_ = std::max(1, limit);
    poll();
}

const Launch* RunLauncher::launch(int id) const {
    for (const Launch& l : launches_) {
        if (l.id == id) {
            return &l;
        }
    }
    return nullptr;
}

const Launch* RunLauncher::launchOfRun(qint64 run_id) const {
    const Launch* found = nullptr;
    for (const Launch& l : launches_) {
        if (l.run_id == run_id) {
            found = &l;  // the latest launch of the run (a resume comes after its first start)
        }
    }
    return found;
}

int RunLauncher::enqueueTrain(const QString& recipe, const QStringList& overrides) {
    QStringList arguments = {QStringLiteral("train"), recipe};
    for (const QString& o : overrides) {
        arguments << QStringLiteral("--set") << o;
    }
    return enqueue(arguments, QFileInfo(recipe).fileName());
}

int RunLauncher::enqueueResume(qint64 run_id) {
    return enqueue({QStringLiteral("train"), QStringLiteral("--resume"), QString::number(run_id)},
                   tr("resume run %1").arg(run_id));
}

int RunLauncher::enqueue(QStringList arguments, QString label) {
    arguments << QStringLiteral("--workspace") << workspace_ << QStringLiteral("--progress")
              << QStringLiteral("jsonl");
    Launch launch;
    launch.id = next_id_++;
    launch.arguments = std::move(arguments);
    launch.label = std::move(label);
    launches_.push_back(launch);
    save();
    Q_EMIT launchChanged(launch.id);
    poll();
    return launch.id;
}

void RunLauncher::start(Launch& launch) {
    QDir().mkpath(logFolder());
    const QString stem = QDir(logFolder())
                             .filePath(QStringLiteral("launch-%1-%2")
                                           .arg(QDateTime::currentMSecsSinceEpoch())
                                           .arg(launch.id));
    launch.out_path = stem + QStringLiteral(".out");
    launch.err_path = stem + QStringLiteral(".err");
    QProcess process;
    process.setProgram(engine_);
    process.setArguments(launch.arguments);
    process.setStandardOutputFile(launch.out_path);
    process.setStandardErrorFile(launch.err_path);
    process.setStandardInputFile(QProcess::nullDevice());
    qint64 pid = 0;
    if (engine_.isEmpty() || !process.startDetached(&pid)) {
        launch.state = Launch::State::kEnded;
        launch.outcome = QStringLiteral("failed to start");
        launch.console = engine_.isEmpty()
                             ? tr("No lowbit engine found (next to the studio, on PATH, or in "
                                  "Settings).\n")
                             : tr("Cannot start %1: %2\n").arg(engine_, process.errorString());
        Q_EMIT failed(launch.console.trimmed());
        return;
    }
    launch.pid = pid;
    launch.state = Launch::State::kRunning;
}

void RunLauncher::stop(int launch_id) {
    for (Launch& l : launches_) {
        if (l.id != launch_id) {
            continue;
        }
        if (l.state == Launch::State::kQueued) {
            l.state = Launch::State::kEnded;
            l.outcome = QStringLiteral("cancelled");
        } else if (l.state == Launch::State::kRunning && l.pid > 0) {
            ::kill(static_cast<pid_t>(l.pid), SIGTERM);
            l.stop_requested = QDateTime::currentDateTime();
        }
        save();
        Q_EMIT launchChanged(l.id);
    }
}

void RunLauncher::stopProcess(qint64 pid) {
    for (const Launch& l : launches_) {
        if (l.pid == pid && l.state == Launch::State::kRunning) {
            stop(l.id);
            return;
        }
    }
    if (pid > 0 && store::local_process_alive(pid)) {
        ::kill(static_cast<pid_t>(pid), SIGTERM);
    }
}

void RunLauncher::poll() {
    int running = 0;
    for (Launch& l : launches_) {
        if (l.state != Launch::State::kRunning) {
            continue;
        }
        tail(l);
        if (!store::local_process_alive(l.pid)) {
            tail(l);  // what it wrote last
            l.state = Launch::State::kEnded;
            if (l.outcome.isEmpty()) {
                l.outcome = QStringLiteral("killed");  // ended without a final event
            }
            save();
            Q_EMIT launchChanged(l.id);
            continue;
        }
        if (l.stop_requested.isValid() &&
            l.stop_requested.msecsTo(QDateTime::currentDateTime()) > stop_timeout_ms_) {
            ::kill(static_cast<pid_t>(l.pid), SIGKILL);
        }
        ++running;
    }
    for (Launch& l : launches_) {
        if (running >= concurrency_) {
            break;
        }
        if (l.state == Launch::State::kQueued) {
            start(l);
            running += l.state == Launch::State::kRunning ? 1 : 0;
            save();
            Q_EMIT launchChanged(l.id);
        }
    }
}

void RunLauncher::tail(Launch& launch) {
    QFile err(launch.err_path);
    if (err.open(QIODevice::ReadOnly) && err.size() > launch.err_offset) {
        err.seek(launch.err_offset);
        const QByteArray bytes = err.readAll();
        launch.err_offset += bytes.size();
        launch.console += QString::fromUtf8(bytes);
        if (launch.console.size() > kConsoleLimit) {
            launch.console = launch.console.right(kConsoleLimit);
        }
        Q_EMIT launchChanged(launch.id);
    }
    QFile out(launch.out_path);
    if (out.open(QIODevice::ReadOnly) && out.size() > launch.out_offset) {
        out.seek(launch.out_offset);
        const QByteArray bytes = out.readAll();
        launch.out_offset += bytes.size();
        readEvents(launch, bytes);
        Q_EMIT launchChanged(launch.id);
    }
}

void RunLauncher::readEvents(Launch& launch, const QByteArray& bytes) {
    launch.partial_line += QString::fromUtf8(bytes);
    qsizetype newline = 0;
    while ((newline = launch.partial_line.indexOf(QLatin1Char('\n'))) >= 0) {
        const QString line = launch.partial_line.left(newline).trimmed();
        launch.partial_line.remove(0, newline + 1);
        if (line.isEmpty()) {
            continue;
        }
        events::RunEvent event;
        try {
            event = events::from_json_line(line.toStdString());
        } catch (const std::exception& error) {
            launch.console += tr("[not a run event: %1] %2\n").arg(error.what(), line);
            continue;
        }
        launch.step = event.step;
        std::visit(
            [&launch](const auto& body) {
                using T = std::decay_t<decltype(body)>;
                if constexpr (std::is_same_v<T, events::Started> ||
                              std::is_same_v<T, events::Resumed>) {
                    launch.run_id = body.run_id;
                    launch.steps = body.steps;
                } else if constexpr (std::is_same_v<T, events::Step>) {
                    launch.steps = body.steps;
                    launch.eta_s = body.eta_s;
                    launch.tokens_per_s = body.tokens_per_s;
                }
            },
            event.body);
        if (events::ends_run(event.body)) {
            launch.outcome = QString::fromLatin1(events::event_name(event.body));
            launch.eta_s = 0;
        }
        if (!std::holds_alternative<events::Step>(event.body)) {
            save();
        }
    }
}

void RunLauncher::save() const {
    QJsonArray list;
    for (const Launch& l : launches_) {
        list.push_back(
            QJsonObject{{QStringLiteral("id"), l.id},
                        {QStringLiteral("arguments"), QJsonArray::fromStringList(l.arguments)},
                        {QStringLiteral("label"), l.label},
                        {QStringLiteral("state"), QString::fromLatin1(stateName(l.state))},
                        {QStringLiteral("pid"), l.pid},
                        {QStringLiteral("run_id"), l.run_id},
                        {QStringLiteral("out"), l.out_path},
                        {QStringLiteral("err"), l.err_path},
                        {QStringLiteral("outcome"), l.outcome}});
    }
    QDir().mkpath(logFolder());
    QSaveFile file(QDir(logFolder()).filePath(QStringLiteral("launches.json")));
    if (file.open(QIODevice::WriteOnly)) {
        file.write(QJsonDocument(QJsonObject{{QStringLiteral("format"), 1},
                                             {QStringLiteral("launches"), list}})
                       .toJson());
        file.commit();
    }
}

void RunLauncher::load() {
    QFile file(QDir(logFolder()).filePath(QStringLiteral("launches.json")));
    if (!file.open(QIODevice::ReadOnly)) {
        return;
    }
    const QJsonObject root = QJsonDocument::fromJson(file.readAll()).object();
    for (const QJsonValue& value : root.value(QStringLiteral("launches")).toArray()) {
        const QJsonObject o = value.toObject();
        Launch l;
        l.id = o.value(QStringLiteral("id")).toInt();
        for (const QJsonValue& a : o.value(QStringLiteral("arguments")).toArray()) {
            l.arguments << a.toString();
        }
        l.label = o.value(QStringLiteral("label")).toString();
        l.state = stateFromName(o.value(QStringLiteral("state")).toString());
        l.pid = o.value(QStringLiteral("pid")).toInteger();
        l.run_id = o.value(QStringLiteral("run_id")).toInteger();
        l.out_path = o.value(QStringLiteral("out")).toString();
        l.err_path = o.value(QStringLiteral("err")).toString();
        l.outcome = o.value(QStringLiteral("outcome")).toString();
        if (l.state == Launch::State::kQueued) {
            l.state = Launch::State::kEnded;  // the queue belonged to the studio that closed
            l.outcome = QStringLiteral("cancelled");
        }
        // Running and ended launches are read again from the start of their logs.
        next_id_ = std::max(next_id_, l.id + 1);
        launches_.push_back(l);
    }
    for (Launch& l : launches_) {
        tail(l);
    }
}

}  // namespace lowbit::ui
