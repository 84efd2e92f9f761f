// The workspace's cost per recorded telemetry step: the rows of one step of the tiny Llama
// (29 linears × weight, activation and grad_output with a 64-bin uniform and a 256-code grid
// histogram, optim_m and optim_v with the 80-bin log2 one: 145 statistics rows and 290 histogram
// rows) added to a RunWriter and committed. Three workspaces side by side, interleaved:
// - as the engine opens it (WAL checkpoint every 8192 pages), one commit per recorded step;
// - the same with SQLite's default checkpoint interval of 1000 pages;
// - the engine's settings with one commit per 6 recorded steps, as a training run's one-second
//   age limit gives when a recorded step comes every ~0.2 s (docs/workspace-schema.md §Writing).
// Each timing is the mean over --steps-per-round recorded steps (a multiple of 6), so that it
// carries the checkpoints, which come every few commits. --rounds N (default 15).
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_options.h"
#include "interleaved.h"
#include "temp_dir.h"

namespace {

constexpr int kLayers = 29;
constexpr const char* kQuantizedKinds[] = {"weight", "activation", "grad_output"};
constexpr const char* kMomentKinds[] = {"optim_m", "optim_v"};

std::string layer_name(int layer) {
    if (layer == kLayers - 1) {
        return "lm_head";
    }
    static constexpr const char* kParts[] = {
        "attn.q", "attn.k", "attn.v", "attn.o", "mlp.gate", "mlp.up", "mlp.down"};
    return "blocks." + std::to_string(layer / 7) + "." + kParts[layer % 7];
}

// Counts shaped like a histogram of normal values (mass in the middle bins, zeros at the ends).
std::vector<std::int64_t> bell_counts(int bins, std::int64_t total) {
    std::vector<std::int64_t> counts(static_cast<std::size_t>(bins), 0);
    for (int b = bins / 4; b < 3 * bins / 4; ++b) {
        const int from_middle = std::abs(b - bins / 2);
        counts[static_cast<std::size_t>(b)] = total / (8 + from_middle * from_middle);
    }
    return counts;
}

// One workspace with its run and the next step to record; commits every `steps_per_commit`
// recorded steps.
struct Sink {
    lowbit::store::Workspace workspace;
    lowbit::store::RunWriter writer;
    std::int64_t run_id;
    int steps_per_commit;
    std::int64_t step = 0;

    Sink(const std::filesystem::path& root, int commit_every)
        : workspace(lowbit::store::Workspace::open(root)),
          writer(workspace, 1 << 20),
          steps_per_commit(commit_every) {
        lowbit::store::RunRecord run;
        run.name = "store_bench";
        run.kind = "train";
        run_id = writer.create_run(run);
    }

    void record_step() {
        for (int layer = 0; layer < kLayers; ++layer) {
            for (const char* kind : kQuantizedKinds) {
                add_tensor(layer, kind, true);
            }
            for (const char* kind : kMomentKinds) {
                add_tensor(layer, kind, false);
            }
        }
        step += 10;
        if ((step / 10) % steps_per_commit == 0) {
            writer.flush();
        }
    }

    void add_tensor(int layer, const char* kind, bool quantized) {
        lowbit::store::TensorStatsRecord stats;
        stats.run_id = run_id;
        stats.step = step;
        stats.layer = layer_name(layer);
        stats.tensor_kind = kind;
        if (quantized) {
            stats.quantizer = R"({"bits":8,"granularity":"per_token","symmetric":true})";
            stats.qn = -127;
            stats.qp = 127;
        }
        stats.n = 98304;
        writer.add_tensor_stats(stats);
        lowbit::store::HistogramRecord h;
        h.run_id = run_id;
        h.step = step;
        h.layer = stats.layer;
        h.tensor_kind = kind;
        h.bin_scheme = "uniform";
        h.counts = bell_counts(64, stats.n);
        writer.add_histogram(h);
        h.bin_scheme = quantized ? "grid" : "log2";
        h.counts = bell_counts(quantized ? 256 : 80, stats.n);
        writer.add_histogram(h);
    }
};

}  // namespace

int main(int argc, char** argv) {
    int rounds = 15;
    int steps_per_round = 12;
    CLI::App app{"store_bench: the workspace's cost per recorded telemetry step"};
    lowbit::bench::add_rounds_option(app, rounds);
    // A multiple of 6, so that the case committing once per 6 steps commits in every round.
    app.add_option(
           "--steps-per-round", steps_per_round, "Recorded steps per round, a multiple of 6")
        ->check(CLI::Range(6, lowbit::bench::kMaxCount))
        ->check(CLI::Validator(
            [](const std::string& value) {
                return std::stoi(value) % 6 == 0 ? std::string() : "not a multiple of 6";
            },
            "MULTIPLE OF 6"))
        ->capture_default_str();
    if (const auto exit_code = lowbit::bench::parse_options(app, argc, argv)) {
        return *exit_code;
    }
    const lowbit::testing::TempDir tmp("store_bench");
    Sink engine(tmp.path() / "engine", 1);
    Sink sqlite_default(tmp.path() / "default", 1);
    Sink shared_commits(tmp.path() / "shared", 6);
    // The benchmark's one use of the connection: SQLite's default checkpoint interval, for the
    // comparison.
    sqlite3_exec(sqlite_default.workspace.handle(),
                 "PRAGMA wal_autocheckpoint = 1000",
                 nullptr,
                 nullptr,
                 nullptr);
    std::printf(
        "# store_bench: %d rounds of %d recorded steps, %d statistics and %d histogram rows per "
        "step\n",
        rounds,
        steps_per_round,
        kLayers * 5,
        kLayers * 10);
    const std::vector<lowbit::bench::Case> cases = {
        {"commit, checkpoint every 8192 pages", [&] { engine.record_step(); }},
        {"commit, checkpoint every 1000 pages", [&] { sqlite_default.record_step(); }},
        {"one commit per 6 steps, every 8192 pages", [&] { shared_commits.record_step(); }}};
    const auto timings = lowbit::bench::run_interleaved(cases, rounds, steps_per_round, 2);
    lowbit::bench::print_timings(timings);
    lowbit::bench::print_ratio(timings,
                               "checkpoint every 8192 pages / every 1000",
                               "commit, checkpoint every 8192 pages",
                               "commit, checkpoint every 1000 pages");
    lowbit::bench::print_ratio(timings,
                               "one commit per 6 steps / per step",
                               "one commit per 6 steps, every 8192 pages",
                               "commit, checkpoint every 8192 pages");
    return 0;
}
