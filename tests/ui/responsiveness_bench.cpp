// The studio's responsiveness under a large workspace (docs/benchmarks.md §Studio
// responsiveness). Printed, not a test. A workspace written with lowbit_store's RunWriter holds
// 4 runs × 100,000 steps of train/loss and, for the fourth run, 200 telemetry steps of an 8-bit
// W8A8G8 two-block model (ui/demo/demo_telemetry.h: statistics and histograms of every linear
// and tensor kind, W on the 256 codes of its grid); that run stays `running` and a writer thread
// appends 50 steps every 100 ms (one commit each) while the real MainWindow (worker thread,
// coalesced replots) shows it. Measured per repetition, the repetitions interleaving the parts:
//   - latency: from a commit returning in the writer thread to the end of the first replot of the
//     train/loss chart that draws its last step (timestamps on QCustomPlot::afterReplot);
//   - replot time of that chart (beforeReplot → afterReplot) while live, and 20 immediate replots
//     at full zoom-out;
//   - frame gaps: the largest interval between ticks of a 16 ms timer on the GUI thread;
//   - the histogram heatmap: the real histogram inspector (fresh, with its TelemetryWorker on
//     the GUI thread as a worst case) showing blocks.0.mlp.fc W of the live run: from the
//     selection to the worker's series (read), from there to the end of the heatmap's replot
//     (build and draw: 200 steps × 256 code bins), and that replot alone;
//   - CPU time beside wall time: of the process (GUI, worker and the writer thread) while live,
//     of the GUI thread for the full zoom-out replots; peak RSS (VmHWM) at the end.
// Usage: ui_responsiveness_bench [--repetitions N] [--live-seconds S]
#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "bench_measure.h"
#include "charts/charts_view.h"
#include "charts/qcustomplot_include.h"
#include "charts/scalar_chart.h"
#include "demo/demo_telemetry.h"
#include "histograms/histogram_inspector.h"
#include "histograms/telemetry_worker.h"
#include "main_window.h"

using namespace lowbit;
using namespace lowbit::bench;

namespace {

constexpr int kRuns = 4;
constexpr int64_t kPoints = 100000;
constexpr int kHistogramSteps = 200;
constexpr int kRowsPerCommit = 50;
constexpr int kCommitIntervalMs = 100;
constexpr int kFrameMs = 16;

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start, Clock::time_point end) {
    return std::chrono::duration<double, std::milli>(end - start).count();
}

double loss_at(int run, int64_t step) {
    return 2.0 + 3.0 * std::exp(-static_cast<double>(step) / 20000.0) + 0.01 * run +
           0.05 * std::sin(static_cast<double>(step) * 0.37 + run);
}

// The workspace: runs 1-3 completed, run 4 running (attached to this process) with its
// histogram series. Returns run 4's id.
int64_t write_workspace(const QString& root) {
    store::Workspace workspace = store::Workspace::open(root.toStdString());
    int64_t live = 0;
    for (int run = 0; run < kRuns; ++run) {
        store::RunWriter writer(workspace, 4096);
        store::RunRecord record;
        record.name = "bench-" + std::to_string(run + 1);
        record.kind = "train";
        record.recipe_json = "{}";
        record.summary_json = "{}";
        const int64_t id = writer.create_run(record);
        writer.set_status(id, store::RunStatus::kRunning);
        for (int64_t step = 1; step <= kPoints; ++step) {
            writer.add_scalar({0,
                               id,
                               "train/loss",
                               step,
                               step * 1024,
                               static_cast<double>(step) * 0.01,
                               loss_at(run, step)});
        }
        if (run == kRuns - 1) {
            std::mt19937 rng(4);
            for (int h = 1; h <= kHistogramSteps; ++h) {
                ui::write_demo_telemetry(
                    writer, id, h * 100, static_cast<double>(h) / kHistogramSteps, 8, rng);
            }
            writer.flush();
            writer.attach_process(id);
            live = id;
        } else {
            writer.flush();
            writer.set_status(id, store::RunStatus::kCompleted);
        }
    }
    return live;
}

struct Commit {
    int64_t last_step;
    Clock::time_point at;
};

// Appends kRowsPerCommit steps to the live run every kCommitIntervalMs, one commit each.
class LiveWriter {
public:
    LiveWriter(QString root, int64_t run_id) : root_(std::move(root)), run_id_(run_id) {}

    void start() {
        running_ = true;
        thread_ = std::thread([this] { loop(); });
    }

    void stop() {
        running_ = false;
        if (thread_.joinable()) {
            thread_.join();
        }
    }

    // Commits whose last step is at most `shown`, removed from the pending list.
    std::vector<Commit> takeShown(int64_t shown) {
        std::lock_guard<std::mutex> lock(mutex_);
        std::vector<Commit> done;
        while (!pending_.empty() && pending_.front().last_step <= shown) {
            done.push_back(pending_.front());
            pending_.pop_front();
        }
        return done;
    }

    void clearPending() {
        std::lock_guard<std::mutex> lock(mutex_);
        pending_.clear();
    }

private:
    void loop() {
        store::Workspace workspace = store::Workspace::open(root_.toStdString());
        store::RunWriter writer(workspace, 1 << 20);
        auto next = Clock::now();
        while (running_) {
            for (int i = 0; i < kRowsPerCommit; ++i) {
                ++step_;
                writer.add_scalar({0,
                                   run_id_,
                                   "train/loss",
                                   step_,
                                   step_ * 1024,
                                   static_cast<double>(step_) * 0.01,
                                   loss_at(kRuns - 1, step_)});
            }
            writer.flush();
            {
                std::lock_guard<std::mutex> lock(mutex_);
                pending_.push_back({step_, Clock::now()});
            }
            next += std::chrono::milliseconds(kCommitIntervalMs);
            std::this_thread::sleep_until(next);
        }
    }

    QString root_;
    int64_t run_id_;
    int64_t step_ = kPoints;
    std::atomic<bool> running_{false};
    std::thread thread_;
    std::mutex mutex_;
    std::deque<Commit> pending_;
};

// Runs the event loop for `ms` milliseconds (idle when nothing is due, so the CPU time measured
// is the studio's).
void spin(int ms) {
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

int64_t last_step_shown(const ui::ScalarChart& chart, int64_t run_id) {
    for (const ui::RunChartData& run : chart.chartData().runs) {
        if (run.run_id == run_id && run.raw && !run.raw->isEmpty()) {
            return static_cast<int64_t>((run.raw->constEnd() - 1)->key);
        }
    }
    return 0;
}

struct HeatmapTimes {
    double read_ms = 0;
    double draw_ms = 0;
    double replot_ms = 0;
    int steps = 0;
    int bins = 0;
};

// A fresh histogram inspector and TelemetryWorker, both on the GUI thread (a worst case: the
// studio reads in a worker thread), select the live run's blocks.0.mlp.fc W and draw its
// heatmap over steps. Times: the selection to the worker's series (read), the series to the end
// of the over-steps plot's replot (building the colour map and drawing it), and that replot.
HeatmapTimes heatmap(const QString& root, int64_t run_id, ui::RunsModel* runs) {
    ui::TelemetryWorker worker(root);
    worker.open(0);
    ui::HistogramInspector inspector(runs);
    inspector.resize(700, 900);
    inspector.setAttribute(Qt::WA_DontShowOnScreen);
    inspector.show();
    Clock::time_point read_at{}, before_replot{}, after_replot{};
    // Connected before the inspector's own slot, so it runs first.
    QObject::connect(&worker, &ui::TelemetryWorker::seriesRead, [&](const ui::TensorSeries& s) {
        if (static_cast<int>(s.steps.size()) == kHistogramSteps) {
            read_at = Clock::now();
        }
    });
    QCustomPlot* plot = inspector.overStepsPlot();
    QObject::connect(plot, &QCustomPlot::beforeReplot, [&] { before_replot = Clock::now(); });
    QObject::connect(plot, &QCustomPlot::afterReplot, [&] { after_replot = Clock::now(); });
    inspector.connectWorker(&worker);
    const auto start = Clock::now();
    inspector.setSelection(run_id, QStringLiteral("blocks.0.mlp.fc"), QStringLiteral("weight"));
    QElapsedTimer guard;
    guard.start();
    while ((read_at == Clock::time_point{} || after_replot < read_at) && guard.elapsed() < 20000) {
        QApplication::processEvents();
    }
    HeatmapTimes times;
    times.read_ms = ms_since(start, read_at);
    times.draw_ms = ms_since(read_at, after_replot);
    times.replot_ms = ms_since(before_replot, after_replot);
    if (const QCPColorMap* map = inspector.heatmap()) {
        times.steps = map->data()->keySize();
        times.bins = map->data()->valueSize();
    }
    return times;
}

}  // namespace

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    QApplication app(argc, argv);
    // Its own settings, so a person's saved studio layout neither applies nor changes.
    QApplication::setOrganizationName(QStringLiteral("lowbit-bench"));
    QApplication::setApplicationName(QStringLiteral("ui_responsiveness_bench"));
    int repetitions = 5;
    int live_seconds = 10;
    const QStringList args = QApplication::arguments();
    for (int i = 1; i + 1 < args.size(); ++i) {
        if (args[i] == QLatin1String("--repetitions")) {
            repetitions = std::max(1, args[i + 1].toInt());
        } else if (args[i] == QLatin1String("--live-seconds")) {
            live_seconds = std::max(1, args[i + 1].toInt());
        }
    }

    QTemporaryDir dir;
    const QString root = dir.path();
    auto t_write = Clock::now();
    const int64_t live_run = write_workspace(root);
    std::printf(
        "workspace: %d runs x %lld train/loss points, %d telemetry steps, written in %.1f s\n",
        kRuns,
        static_cast<long long>(kPoints),
        kHistogramSteps,
        ms_since(t_write, Clock::now()) / 1000);

    ui::MainWindow window;
    window.resize(1400, 900);
    window.show();
    const auto t_open = Clock::now();
    window.openWorkspace(root);
    ui::ScalarChart* chart = nullptr;
    while (chart == nullptr || last_step_shown(*chart, live_run) < kPoints) {
        spin(20);
        chart = window.chartsView()->chart(QStringLiteral("train/loss"));
        if (ms_since(t_open, Clock::now()) > 120000) {
            std::fprintf(stderr, "the charts did not show the workspace within 120 s\n");
            return 1;
        }
    }
    spin(1000);
    std::printf("open: first full chart after %.0f ms\n", ms_since(t_open, Clock::now()));

    LiveWriter writer(root, live_run);
    QCustomPlot* plot = chart->plot();
    Clock::time_point replot_start;
    bool measuring = false;
    std::vector<double> latencies;
    std::vector<double> replots;
    QObject::connect(plot, &QCustomPlot::beforeReplot, [&] { replot_start = Clock::now(); });
    QObject::connect(plot, &QCustomPlot::afterReplot, [&] {
        if (!measuring) {
            return;
        }
        const auto now = Clock::now();
        replots.push_back(ms_since(replot_start, now));
        for (const Commit& commit : writer.takeShown(last_step_shown(*chart, live_run))) {
            latencies.push_back(ms_since(commit.at, now));
        }
    });
    QTimer frame_timer;
    frame_timer.setTimerType(Qt::PreciseTimer);
    frame_timer.setInterval(kFrameMs);
    Clock::time_point last_tick = Clock::now();
    double max_gap = 0;
    QObject::connect(&frame_timer, &QTimer::timeout, [&] {
        const auto now = Clock::now();
        max_gap = std::max(max_gap, ms_since(last_tick, now));
        last_tick = now;
    });

    struct Repetition {
        double latency_p50, latency_p95, replot_p50, replot_p95, max_gap, cpu_share;
        size_t samples;
        double full_replot_ms;
        double full_replot_cpu_ms;
        HeatmapTimes heat;
    };

    std::vector<Repetition> results;
    writer.start();
    for (int rep = 0; rep < repetitions; ++rep) {
        // Live: commits keep arriving; the charts follow.
        latencies.clear();
        replots.clear();
        chart->resetZoom();
        spin(300);
        writer.clearPending();
        measuring = true;
        max_gap = 0;
        last_tick = Clock::now();
        frame_timer.start();
        const double cpu0 = cpu_seconds();
        const auto wall0 = Clock::now();
        spin(live_seconds * 1000);
        const double cpu_share = (cpu_seconds() - cpu0) / (ms_since(wall0, Clock::now()) / 1000.0);
        frame_timer.stop();
        measuring = false;
        Repetition r{};
        r.latency_p50 = percentile(latencies, 0.5);
        r.latency_p95 = percentile(latencies, 0.95);
        r.replot_p50 = percentile(replots, 0.5);
        r.replot_p95 = percentile(replots, 0.95);
        r.max_gap = max_gap;
        r.cpu_share = cpu_share;
        r.samples = latencies.size();
        // Full zoom-out: 20 immediate replots of the chart as it stands.
        chart->resetZoom();
        spin(200);
        std::vector<double> full;
        std::vector<double> full_cpu;
        for (int i = 0; i < 20; ++i) {
            const auto t0 = Clock::now();
            const double c0 = thread_cpu_ms();
            plot->replot(QCustomPlot::rpImmediateRefresh);
            full_cpu.push_back(thread_cpu_ms() - c0);
            full.push_back(ms_since(t0, Clock::now()));
        }
        r.full_replot_ms = median(full);
        r.full_replot_cpu_ms = median(full_cpu);
        r.heat = heatmap(root, live_run, window.runsModel());
        results.push_back(r);
        std::printf(
            "rep %d: commit->replot p50 %.1f ms p95 %.1f ms (%zu commits), live replot p50 %.2f ms "
            "p95 %.2f ms, full zoom-out replot %.2f ms (CPU %.2f ms), max frame gap %.1f ms, CPU "
            "%.0f%% of one "
            "core, heatmap %d x %d read %.2f draw %.2f replot %.2f ms\n",
            rep + 1,
            r.latency_p50,
            r.latency_p95,
            r.samples,
            r.replot_p50,
            r.replot_p95,
            r.full_replot_ms,
            r.full_replot_cpu_ms,
            r.max_gap,
            100 * r.cpu_share,
            r.heat.steps,
            r.heat.bins,
            r.heat.read_ms,
            r.heat.draw_ms,
            r.heat.replot_ms);
        std::fflush(stdout);
    }
    writer.stop();

    auto med = [&results](auto field) {
        std::vector<double> values;
        for (const Repetition& r : results) {
            values.push_back(field(r));
        }
        return median(values);
    };
    std::printf("\nmachine: %s, %u logical cores, load average %s\n",
                qPrintable(cpu_model()),
                std::thread::hardware_concurrency(),
                qPrintable(load_average()));
    std::printf("medians over %d repetitions of %d s live:\n", repetitions, live_seconds);
    std::printf("  commit -> finished replot: p50 %.1f ms, p95 %.1f ms\n",
                med([](const Repetition& r) { return r.latency_p50; }),
                med([](const Repetition& r) { return r.latency_p95; }));
    std::printf("  live replot: p50 %.2f ms, p95 %.2f ms\n",
                med([](const Repetition& r) { return r.replot_p50; }),
                med([](const Repetition& r) { return r.replot_p95; }));
    std::printf("  replot at full zoom-out: %.2f ms wall, %.2f ms CPU\n",
                med([](const Repetition& r) { return r.full_replot_ms; }),
                med([](const Repetition& r) { return r.full_replot_cpu_ms; }));
    std::printf("  max frame gap: %.1f ms (worst repetition %.1f ms)\n",
                med([](const Repetition& r) { return r.max_gap; }),
                std::max_element(
                    results.begin(),
                    results.end(),
                    [](const Repetition& a, const Repetition& b) { return a.max_gap < b.max_gap; })
                    ->max_gap);
    std::printf("  CPU while live (GUI, worker and writer threads): %.0f%% of one core\n",
                100 * med([](const Repetition& r) { return r.cpu_share; }));
    std::printf(
        "  inspector heatmap %d x %d: read %.2f ms, build and draw %.2f ms, replot %.2f ms\n",
        results.back().heat.steps,
        results.back().heat.bins,
        med([](const Repetition& r) { return r.heat.read_ms; }),
        med([](const Repetition& r) { return r.heat.draw_ms; }),
        med([](const Repetition& r) { return r.heat.replot_ms; }));
    std::printf("  peak RSS (VmHWM): %s\n", qPrintable(status_field("VmHWM:")));
    return 0;
}
