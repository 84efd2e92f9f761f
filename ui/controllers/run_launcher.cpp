#include "controllers/run_launcher.h"

#include "lowbit/events/run_event_json.h"
#include "lowbit/store/run_liveness.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSaveFile>

#include <optional>
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

// Runs the engine ("$@") as the shell's asynchronous child so the shell can write its pid to
// "$0.pid" before waiting for it, then writes its exit status to "$0.exit" ($0 is the log stem).
// The shell itself receives no signal from the launcher; a signal that ends the engine shows in
// the status as 128 + N.
constexpr char kWrapperScript[] = "\"$@\" & echo $! > \"$0.pid\"; wait $!; echo $? > \"$0.exit\"";

// The first line of a text file as an integer; nullopt while it is missing or not yet written.
std::optional<qint64> readNumber(const QString& path) {
    QFile file(path);
    if (path.isEmpty() || !file.open(QIODevice::ReadOnly)) {
        return std::nullopt;
    }
    bool ok = false;
    const qint64 value = QString::fromLatin1(file.readLine()).trimmed().toLongLong(&ok);
    return ok ? std::optional<qint64>(value) : std::nullopt;
}

// The last non-empty line of the console, the engine's "lowbit: error: ..." for bad input.
QString lastLine(const QString& console) {
    const QStringList lines = console.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    return lines.isEmpty() ? QString() : lines.last().trimmed();
}

// The console's last line once a launch has ended, so its end is visible even when the engine
// wrote nothing to stderr (in JSON-lines mode it writes its summary there only when it finishes).
QString endNote(const QString& outcome) {
    return QStringLiteral("[lowbit-studio] the engine ended: %1\n").arg(outcome);
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

int RunLauncher::enqueueTrain(const QString& recipe,
                              const QStringList& overrides,
                              const QStringList& options) {
    QStringList arguments = {QStringLiteral("train")};
    if (!recipe.isEmpty()) {
        arguments << recipe;
    }
    for (const QString& o : overrides) {
        arguments << QStringLiteral("--set") << o;
    }
    arguments << options;
    return enqueue(arguments,
                   recipe.isEmpty() ? tr("built-in default recipe") : QFileInfo(recipe).fileName());
}

int RunLauncher::enqueueQat(const QString& recipe, const QStringList& options) {
    return enqueue(QStringList{QStringLiteral("qat"), recipe} + options,
                   QFileInfo(recipe).fileName());
}

int RunLauncher::enqueueResume(qint64 run_id) {
    return enqueue({QStringLiteral("train"), QStringLiteral("--resume"), QString::number(run_id)},
                   tr("resume run %1").arg(run_id));
}

int RunLauncher::enqueueQatResume(qint64 run_id) {
    return enqueue({QStringLiteral("qat"), QStringLiteral("--resume"), QString::number(run_id)},
                   tr("resume qat run %1").arg(run_id));
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
    launch.pid_path = stem + QStringLiteral(".pid");
    launch.exit_path = stem + QStringLiteral(".exit");
    const QFileInfo engine(engine_);
    if (engine_.isEmpty() || !engine.isFile() || !engine.isExecutable()) {
        launch.state = Launch::State::kEnded;
        launch.outcome = QStringLiteral("failed to start");
        launch.console = engine_.isEmpty()
                             ? tr("No lowbit engine found (next to the studio, on PATH, or in "
                                  "Settings).\n")
                             : tr("Cannot start %1: not an executable file\n").arg(engine_);
        Q_EMIT failed(launch.console.trimmed());
        return;
    }
    QProcess process;
    process.setProgram(QStringLiteral("/bin/sh"));
    process.setArguments(QStringList{QStringLiteral("-c"),
                                     QString::fromLatin1(kWrapperScript),
                                     stem,
                                     engine.absoluteFilePath()} +
                         launch.arguments);
    process.setStandardOutputFile(launch.out_path);
    process.setStandardErrorFile(launch.err_path);
    process.setStandardInputFile(QProcess::nullDevice());
    qint64 pid = 0;
    if (!process.startDetached(&pid)) {
        launch.state = Launch::State::kEnded;
        launch.outcome = QStringLiteral("failed to start");
        launch.console = tr("Cannot start %1: %2\n").arg(engine_, process.errorString());
        Q_EMIT failed(launch.console.trimmed());
        return;
    }
    launch.pid = pid;
    launch.state = Launch::State::kRunning;
}

void RunLauncher::readStatusFiles(Launch& launch) const {
    if (launch.engine_pid <= 0) {
        launch.engine_pid = readNumber(launch.pid_path).value_or(0);
    }
    if (launch.exit_code < 0) {
        launch.exit_code = static_cast<int>(readNumber(launch.exit_path).value_or(-1));
    }
}

void RunLauncher::signalEngine(Launch& launch) {
    if (!launch.stop_requested.isValid() || launch.engine_pid <= 0) {
        return;  // the pid is written within moments of the start; the next poll sends it
    }
    if (!launch.term_sent) {
        ::kill(static_cast<pid_t>(launch.engine_pid), SIGTERM);
        launch.term_sent = true;
    } else if (!launch.kill_sent &&
               launch.stop_requested.msecsTo(QDateTime::currentDateTime()) > stop_timeout_ms_) {
        ::kill(static_cast<pid_t>(launch.engine_pid), SIGKILL);
        launch.kill_sent = true;
    }
}

void RunLauncher::finish(Launch& launch) {
    tail(launch);  // what it wrote last
    readStatusFiles(launch);
    launch.state = Launch::State::kEnded;
    launch.eta_s = 0;
    if (launch.outcome.isEmpty()) {
        launch.outcome = outcomeOfExit(launch);
    }
    launch.console += endNote(launch.outcome);
}

QString RunLauncher::outcomeOfExit(const Launch& launch) {
    const int code = launch.exit_code;
    if (code == 2 || code == 126 || code == 127) {
        // Bad input (the engine's exit 2), or the engine could not be executed (126, 127).
        Q_EMIT failed(lastLine(launch.console));
        return QStringLiteral("failed to start");
    }
    if (code > 128) {
        return QStringLiteral("killed (signal %1)").arg(code - 128);
    }
    if (code > 0) {
        Q_EMIT failed(lastLine(launch.console));
        return QStringLiteral("failed (exit %1)").arg(code);
    }
    return code == 0 ? QStringLiteral("exited")
                     : QStringLiteral("killed");  // no status: the wrapper itself was killed
}

void RunLauncher::stop(int launch_id) {
    for (Launch& l : launches_) {
        if (l.id != launch_id) {
            continue;
        }
        if (l.state == Launch::State::kQueued) {
            l.state = Launch::State::kEnded;
            l.outcome = QStringLiteral("cancelled");
        } else if (l.state == Launch::State::kRunning && !l.stop_requested.isValid()) {
            readStatusFiles(l);
            l.stop_requested = QDateTime::currentDateTime();
            signalEngine(l);
        }
        save();
        Q_EMIT launchChanged(l.id);
    }
}

void RunLauncher::stopProcess(qint64 pid) {
    for (const Launch& l : launches_) {
        if ((l.engine_pid == pid || l.pid == pid) && l.state == Launch::State::kRunning) {
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
        readStatusFiles(l);
        if (!store::local_process_alive(l.pid)) {
            finish(l);
            save();
            Q_EMIT launchChanged(l.id);
            continue;
        }
        signalEngine(l);
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
            [&launch, &event](const auto& body) {
                using T = std::decay_t<decltype(body)>;
                if constexpr (std::is_same_v<T, events::Started> ||
                              std::is_same_v<T, events::Resumed>) {
                    launch.run_id = body.run_id;
                    launch.steps = body.steps;
                    launch.parameters = body.parameters;
                } else if constexpr (std::is_same_v<T, events::Checkpoint>) {
                    launch.checkpoint = QString::fromStdString(body.path);
                    launch.checkpoint_step = event.step;
                } else if constexpr (std::is_same_v<T, events::Step>) {
                    launch.steps = body.steps;
                    launch.eta_s = body.eta_s;
                    launch.tokens_per_s = body.tokens_per_s;
                }
            },
            event.body);
        if (std::holds_alternative<events::Step>(event.body)) {
            Q_EMIT stepStreamed(launch.id, event.step);
        }
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
                        {QStringLiteral("engine_pid"), l.engine_pid},
                        {QStringLiteral("run_id"), l.run_id},
                        {QStringLiteral("out"), l.out_path},
                        {QStringLiteral("err"), l.err_path},
                        {QStringLiteral("pid_file"), l.pid_path},
                        {QStringLiteral("exit_file"), l.exit_path},
                        {QStringLiteral("exit_code"), l.exit_code},
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
        l.engine_pid = o.value(QStringLiteral("engine_pid")).toInteger();
        l.run_id = o.value(QStringLiteral("run_id")).toInteger();
        l.out_path = o.value(QStringLiteral("out")).toString();
        l.err_path = o.value(QStringLiteral("err")).toString();
        l.pid_path = o.value(QStringLiteral("pid_file")).toString();
        l.exit_path = o.value(QStringLiteral("exit_file")).toString();
        l.exit_code = o.value(QStringLiteral("exit_code")).toInt(-1);
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
        readStatusFiles(l);
        if (l.state == Launch::State::kEnded && !l.outcome.isEmpty()) {
            l.console += endNote(l.outcome);
        }
    }
}

}  // namespace lowbit::ui
