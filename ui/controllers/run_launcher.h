// RunLauncher: starts training runs as `lowbit train RECIPE --workspace W --progress jsonl`
// (or `lowbit train --resume RUN ...`, or `lowbit qat ...` for EfficientQAT) engine processes, at
// most `concurrency` at a time (the rest wait in a queue). Each process is started detached (its
// own session) with stdout and stderr redirected to files in the studio's log folder
// (<workspace>/studio-logs/), so closing the studio leaves it running; the launcher tails those
// files: stdout's JSON lines are decoded with lowbit_events (progress, the run id, the final
// event), stderr is the console. The launches are listed in studio-logs/launches.json, from which a
// reopened studio finds its runs again. A detached process reports no exit status to its starter,
// so the engine runs under a small `sh` wrapper that writes the engine's pid to LOG.pid and, when
// it ends, its exit status to LOG.exit: a bad recipe (exit 2) then reads as "failed to start", a
// signal as "killed (signal N)". Stop: SIGTERM to the engine (it checkpoints and records
// `stopped`), SIGKILL after a timeout.
#pragma once

#include <QDateTime>
#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QTimer>

namespace lowbit::ui {

struct Launch {
    enum class State { kQueued, kRunning, kEnded };

    int id = 0;
    QStringList arguments;  // after the engine path
    QString label;          // the recipe file, or "resume run N"
    State state = State::kQueued;
    qint64 pid = 0;         // the wrapper's: alive while the engine runs
    qint64 engine_pid = 0;  // the engine's, read from pid_path once the wrapper wrote it
    qint64 run_id = 0;
    QString out_path;
    QString err_path;
    QString pid_path;
    QString exit_path;
    int exit_code = -1;  // the engine's exit status (128 + N for signal N); -1: not known
    qint64 out_offset = 0;
    qint64 err_offset = 0;
    QString partial_line;
    // From the events: steps done and asked for, ETA, throughput; the final event's name
    // ("completed", "stopped", ...) or, for a process that ended without one, what its exit status
    // says: "failed to start" (exit 2: bad input), "killed (signal N)", "failed (exit N)", or
    // "killed" when no status was recorded (the wrapper itself was killed).
    qint64 step = 0;
    qint64 steps = 0;
    qint64 parameters = 0;       // the model's, as the engine counted it
    QString checkpoint;          // the last checkpoint written (workspace-relative folder) ...
    qint64 checkpoint_step = 0;  // ... and the step it holds
    double eta_s = 0;
    double tokens_per_s = 0;
    QString outcome;
    // stderr (the last 64 KiB), lines of stdout that were not events, and once ended a last line
    // "[lowbit-studio] the engine ended: OUTCOME".
    QString console;
    QDateTime stop_requested;
    bool term_sent = false;
    bool kill_sent = false;
};

class RunLauncher : public QObject {
    Q_OBJECT

public:
    static constexpr int kConsoleLimit = 64 * 1024;

    RunLauncher(QString workspace, QString engine, QObject* parent = nullptr);

    const QString& engine() const {
        return engine_;
    }

    void setEngine(const QString& engine) {
        engine_ = engine;
    }

    QString logFolder() const;

    int concurrency() const {
        return concurrency_;
    }

    void setConcurrency(int limit);

    void setStopTimeoutMs(int ms) {
        stop_timeout_ms_ = ms;
    }

    const QList<Launch>& launches() const {
        return launches_;
    }

    const Launch* launch(int id) const;
    const Launch* launchOfRun(qint64 run_id) const;

    // Queue a run; returns the launch id. An empty `recipe` trains the engine's built-in default
    // recipe; `overrides` are passed as `--set KEY=VALUE`, then `options` (any `lowbit train`
    // option) as they are.
    int enqueueTrain(const QString& recipe,
                     const QStringList& overrides = {},
                     const QStringList& options = {});
    // Queue `lowbit qat RECIPE OPTIONS...` (docs/efficientqat.md §Running `lowbit qat`).
    int enqueueQat(const QString& recipe, const QStringList& options = {});
    int enqueueResume(qint64 run_id);
    // `lowbit qat --resume RUN`: a qat run goes on after its last finished block.
    int enqueueQatResume(qint64 run_id);
    // SIGTERM now, SIGKILL after the stop timeout. A queued launch is just dropped.
    void stop(int launch_id);
    // Stop a run this studio did not start (found running in the database with its pid).
    void stopProcess(qint64 pid);

public Q_SLOTS:
    void poll();

Q_SIGNALS:
    void launchChanged(int launch_id);
    // One per Step event decoded from the engine's JSON lines, in stream order.
    void stepStreamed(int launch_id, qint64 step);
    void failed(const QString& message);

private:
    int enqueue(QStringList arguments, QString label);
    void start(Launch& launch);
    void tail(Launch& launch);
    void readEvents(Launch& launch, const QByteArray& bytes);
    // Reads LOG.pid and LOG.exit as far as they are written.
    void readStatusFiles(Launch& launch) const;
    void finish(Launch& launch);
    // How a launch without a final event ended, from its exit status (emits failed() for errors).
    QString outcomeOfExit(const Launch& launch);
    void signalEngine(Launch& launch);
    void save() const;
    void load();

    QString workspace_;
    QString engine_;
    QList<Launch> launches_;
    int concurrency_ = 1;
    int stop_timeout_ms_ = 30000;
    int next_id_ = 1;
    QTimer timer_;
    QList<qint64> external_stops_;
};

}  // namespace lowbit::ui
