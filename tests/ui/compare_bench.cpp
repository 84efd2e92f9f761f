// The compare view with 20 runs (docs/benchmarks.md §Compare view with 20 runs). Printed, not a
// test. A workspace written with lowbit_store's RunWriter holds one sweep group of 5 recipes of
// the pretraining presets × 4 seeds, each run 20,000 steps of train/loss, tokens and lr and a
// val/loss every 250 steps, all completed. The real CompareView (1400 × 900, offscreen) compares
// the group. Measured per repetition, the repetitions interleaving the parts:
//   - refresh: reading the 20 runs (recipes, results, every scalar) and drawing everything, wall
//     and GUI-thread CPU time;
//   - the replot of the overlaid curves and of the group plot, 20 immediate replots each;
//   - a view edit and the redraw it causes: the centre (mean ↔ median), the band (min-max ↔ ±sd),
//     the members on and off, the key (train/loss ↔ val/loss), the baseline;
//   - memory: VmRSS before the view reads and after, and VmHWM at the end.
// Usage: ui_compare_bench [--repetitions N]
#include "lowbit/config/recipe_json.h"
#include "lowbit/config/recipe_yaml.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <QApplication>
#include <QFile>
#include <QTemporaryDir>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "bench_measure.h"
#include "charts/qcustomplot_include.h"
#include "charts/scalar_chart.h"
#include "compare/compare_runs.h"
#include "compare/compare_view.h"
#include "controllers/workspace_worker.h"
#include "models/runs_model.h"

using namespace lowbit;
using namespace lowbit::bench;

namespace {

constexpr int kSeeds = 4;
constexpr int64_t kSteps = 20000;
constexpr int64_t kEvalEvery = 250;
constexpr int kReplots = 20;
const char* const kPresets[] = {
    "baseline", "w8a8g8", "m4-per-tensor", "w4-per-channel", "a4-per-token"};

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A field of /proc/self/status in kB (VmRSS, VmHWM); 0 when unreadable.
long status_kb(const char* name) {
    return status_field(name).section(QLatin1Char(' '), 0, 0).toLong();
}

double loss_at(int config, int seed, int64_t step) {
    return 1.9 + 0.01 * config + 0.002 * seed +
           3.0 * std::exp(-static_cast<double>(step) / 3000.0) +
           0.04 * std::sin(static_cast<double>(step) * 0.37 + seed);
}

void write_workspace(const QString& root) {
    store::Workspace workspace = store::Workspace::open(root.toStdString());
    int config = 0;
    for (const char* preset : kPresets) {
        const config::Recipe recipe = config::load_recipe_file(
            std::string(LOWBIT_PRESET_DIR) + "/pretrain/gpt2/" + preset + ".yaml");
        for (int seed = 1; seed <= kSeeds; ++seed) {
            config::Recipe seeded = recipe;
            seeded.seed = seed;
            store::RunWriter writer(workspace, 8192);
            store::RunRecord record;
            record.name = std::string(preset) + "-s" + std::to_string(seed);
            record.kind = "train";
            record.group_name = "bench";
            record.recipe_json = config::recipe_to_json(seeded).dump();
            record.summary_json = "{}";
            const int64_t id = writer.create_run(record);
            for (int64_t step = 1; step <= kSteps; ++step) {
                const int64_t tokens = step * 768;
                const double time = static_cast<double>(step) * 0.05;
                writer.add_scalar(
                    {0, id, "train/loss", step, tokens, time, loss_at(config, seed, step)});
                writer.add_scalar(
                    {0, id, "tokens", step, tokens, time, static_cast<double>(tokens)});
                writer.add_scalar({0, id, "lr", step, tokens, time, 1e-3});
                if (step % kEvalEvery == 0) {
                    writer.add_scalar({0,
                                       id,
                                       "val/loss",
                                       step,
                                       tokens,
                                       time,
                                       loss_at(config, seed, step) + 0.02});
                }
            }
            writer.flush();
            writer.set_status(id, store::RunStatus::kCompleted);
        }
        ++config;
    }
}

struct Timing {
    std::vector<double> wall;
    std::vector<double> cpu;
};

void timed(Timing& into, const std::function<void()>& work) {
    const double c0 = thread_cpu_ms();
    const auto w0 = Clock::now();
    work();
    into.wall.push_back(ms_since(w0));
    into.cpu.push_back(thread_cpu_ms() - c0);
}

void print_row(const char* what, const Timing& t) {
    std::printf("| %s | %.1f | %.1f | %.1f | %.1f |\n",
                what,
                percentile(t.wall, 0.5),
                percentile(t.wall, 0.95),
                percentile(t.cpu, 0.5),
                percentile(t.cpu, 0.95));
}

}  // namespace

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    QApplication app(argc, argv);
    int repetitions = 5;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--repetitions") == 0) {
            repetitions = std::max(1, std::atoi(argv[i + 1]));
        }
    }
    QTemporaryDir dir;
    const QString root = dir.filePath(QStringLiteral("ws"));
    const auto write_start = Clock::now();
    write_workspace(root);
    std::printf(
        "compare view bench: %d runs (%zu recipes x %d seeds) x %lld steps, written in %.1f s\n",
        static_cast<int>(std::size(kPresets)) * kSeeds,
        std::size(kPresets),
        kSeeds,
        static_cast<long long>(kSteps),
        ms_since(write_start) / 1000);
    std::printf("cpu: %s; load average %s\n", qPrintable(cpu_model()), qPrintable(load_average()));

    ui::RunsModel runs;
    ui::WorkspaceWorker worker(root);
    QObject::connect(&worker, &ui::WorkspaceWorker::runsRead, &runs, &ui::RunsModel::setRuns);
    worker.open(0);
    const long rss_before = status_kb("VmRSS:");
    ui::CompareView view(&runs);
    view.resize(1400, 900);
    view.setWorkspace(root);
    view.show();
    view.setSourceGroup(QStringLiteral("bench"));
    app.processEvents();
    const long rss_after = status_kb("VmRSS:");
    std::printf("compared runs: %zu; curves graphs: %d; group plot graphs: %d\n",
                view.runIds().size(),
                view.curves()->plot()->graphCount(),
                view.groupPlot()->graphCount());

    Timing refresh, read_runs, read_scalars, curves, groups, centre, band, members, key, baseline;
    const store::Workspace workspace =
        store::Workspace::open(root.toStdString(), store::OpenMode::kReadOnly);
    const store::RunReader reader(workspace);
    bool flip = false;
    for (int r = 0; r < repetitions; ++r) {
        timed(refresh, [&] { view.refresh(); });
        // Where a refresh spends its time: the records and results, and the scalar rows.
        timed(read_runs, [&] { (void)ui::read_compare_runs(reader, view.runIds()); });
        timed(read_scalars, [&] {
            for (int64_t id : view.runIds()) {
                (void)reader.scalars(id);
            }
        });
        for (int i = 0; i < kReplots; ++i) {
            timed(curves, [&] { view.curves()->plot()->replot(QCustomPlot::rpImmediateRefresh); });
            timed(groups, [&] { view.groupPlot()->replot(QCustomPlot::rpImmediateRefresh); });
        }
        for (int i = 0; i < 4; ++i) {
            flip = !flip;
            timed(centre, [&] {
                view.setCentre(flip ? ui::GroupCentre::kMedian : ui::GroupCentre::kMean);
                view.groupPlot()->replot(QCustomPlot::rpImmediateRefresh);
            });
            timed(band, [&] {
                view.setBand(flip ? ui::GroupBand::kStdDev : ui::GroupBand::kMinMax);
                view.groupPlot()->replot(QCustomPlot::rpImmediateRefresh);
            });
            timed(members, [&] {
                view.setShowMembers(!flip);
                view.groupPlot()->replot(QCustomPlot::rpImmediateRefresh);
            });
            timed(key, [&] {
                view.setKey(flip ? QStringLiteral("val/loss") : QStringLiteral("train/loss"));
                view.curves()->plot()->replot(QCustomPlot::rpImmediateRefresh);
                view.groupPlot()->replot(QCustomPlot::rpImmediateRefresh);
            });
            timed(baseline, [&] {
                view.setBaseline(view.runIds()[flip ? 1 : 0]);
                app.processEvents();
            });
        }
    }
    std::printf("\n%d repetitions; ms, wall and GUI-thread CPU\n\n", repetitions);
    std::printf("| measure | wall p50 | wall p95 | CPU p50 | CPU p95 |\n|---|---|---|---|---|\n");
    print_row("refresh (read 20 runs, tables, draw)", refresh);
    print_row("  of which: records and results (read_compare_runs)", read_runs);
    print_row("  of which: every scalar row of the 20 runs", read_scalars);
    print_row("replot, overlaid curves", curves);
    print_row("replot, group plot", groups);
    print_row("centre mean/median + replot", centre);
    print_row("band min-max/sd + replot", band);
    print_row("members on/off + replot", members);
    print_row("key train/val loss + replots", key);
    print_row("baseline change (tables)", baseline);
    std::printf(
        "\nVmRSS before the view %ld kB, after its first read %ld kB (+%ld kB); VmHWM %ld kB\n",
        rss_before,
        rss_after,
        rss_after - rss_before,
        status_kb("VmHWM:"));
    return 0;
}
