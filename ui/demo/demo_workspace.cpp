#include "demo/demo_workspace.h"

#include "lowbit/config/recipe.h"
#include "lowbit/config/recipe_json.h"
#include "lowbit/store/run_writer.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "demo/demo_telemetry.h"
#include <nlohmann/json.hpp>

namespace lowbit::ui {

namespace {

constexpr double kFloor = 2.1;  // nats per token: the demo corpus' entropy rate
constexpr int64_t kTelemetryEvery = 25;

struct DemoRun {
    const char* name;
    int bits;  // W, A, G bits (32: off)
    double speed;
    store::RunStatus status;
    int64_t diverge_at;  // -1: never
};

double now_s() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string recipe_json(const DemoRun& run, int64_t steps) {
    config::Recipe recipe;
    recipe.name = run.name;
    recipe.train.steps = static_cast<int>(steps);
    recipe.telemetry.every = kTelemetryEvery;
    if (run.bits <= 8) {
        recipe.quant.weight.bits = run.bits;
        recipe.quant.activation.bits = run.bits;
        recipe.quant.grad_output.bits = run.bits;
    }
    return config::recipe_to_json(recipe).dump();
}

void write_run(store::RunWriter& writer, const DemoRun& demo, int64_t steps, std::mt19937& rng) {
    store::RunRecord record;
    record.name = demo.name;
    record.kind = "train";
    record.recipe_json = recipe_json(demo, steps);
    record.group_name = "demo";
    record.tags = demo.bits <= 8 ? "quantized" : "baseline";
    record.summary_json =
        nlohmann::json{{"parameters", 120000}, {"device", "cpu"}, {"entropy_floor_nats", kFloor}}
            .dump();
    const int64_t id = writer.create_run(record);
    writer.set_status(id, store::RunStatus::kRunning);
    const double start = now_s() - 600;
    writer.add_event({0, id, 0, start, "started", "device cpu, 120000 parameters"});
    std::normal_distribution<double> noise(0.0, 0.04);
    std::mt19937 telemetry_rng(static_cast<unsigned>(id));  // the scalars' draws stay as they were
    const int64_t last = demo.status == store::RunStatus::kRunning ? steps / 2 : steps;
    for (int64_t step = 1; step <= last; ++step) {
        const double wall = static_cast<double>(step) / demo.speed;
        const int64_t tokens = step * 4096;
        const double progress = static_cast<double>(step) / static_cast<double>(steps);
        double loss = kFloor + (5.5 - kFloor) * std::exp(-6.0 * progress) +
                      (demo.bits <= 4   ? 0.15
                       : demo.bits <= 8 ? 0.03
                                        : 0.0) +
                      noise(rng);
        const bool diverged = demo.diverge_at >= 0 && step >= demo.diverge_at;
        if (diverged) {
            loss = std::numeric_limits<double>::quiet_NaN();
        }
        const double lr = 3e-3 * 0.5 * (1 + std::cos(M_PI * progress));
        double grad_norm = 0.8 * std::exp(-2 * progress) + 0.2 + std::abs(noise(rng));
        if (step == steps / 3) {
            grad_norm *= 12;  // a gradient spike
        }
        writer.add_scalar({0, id, "train/loss", step, tokens, wall, loss});
        writer.add_scalar({0, id, "lr", step, tokens, wall, lr});
        writer.add_scalar({0, id, "grad_norm", step, tokens, wall, grad_norm});
        writer.add_scalar({0, id, "weight_norm", step, tokens, wall, 12 + 4 * progress});
        writer.add_scalar(
            {0, id, "throughput/tokens_per_s", step, tokens, wall, 4096 * demo.speed});
        writer.add_scalar({0, id, "tokens", step, tokens, wall, static_cast<double>(tokens)});
        if (step % 100 == 0 || step == last) {
            const double val = diverged ? std::numeric_limits<double>::quiet_NaN()
                                        : loss + 0.05 + noise(rng) * 0.2;
            writer.add_scalar({0, id, "val/loss", step, tokens, wall, val});
            writer.add_event({0, id, step, start + wall, "eval", "val/loss"});
        }
        if (step % kTelemetryEvery == 0 && !diverged) {
            write_demo_telemetry(writer, id, step, progress, demo.bits, telemetry_rng);
        }
        if (step % 200 == 0) {
            const std::string path =
                "runs/" + std::to_string(id) + "/checkpoints/step-" + std::to_string(step);
            writer.add_checkpoint({0, id, step, "checkpoint", path, 1000, "0", start + wall});
            writer.add_event({0, id, step, start + wall, "checkpoint", path});
        }
        if (diverged) {
            writer.add_event({0, id, step, start + wall, "diverged", "loss is not finite"});
            break;
        }
    }
    writer.flush();
    if (demo.status == store::RunStatus::kRunning) {
        writer.attach_process(id);
    } else {
        writer.set_status(id, demo.status);
    }
}

}  // namespace

int write_demo_workspace(const std::filesystem::path& root, const DemoOptions& options) {
    store::Workspace workspace = store::Workspace::open(root);
    std::mt19937 rng(7);
    const DemoRun runs[] = {
        {"baseline-fp32", 32, 40, store::RunStatus::kCompleted, -1},
        {"w8a8g8", 8, 32, store::RunStatus::kCompleted, -1},
        {"w4a4g4", 4, 30, store::RunStatus::kDiverged, options.steps * 3 / 4},
        {"w8a8g8-long", 8, 35, store::RunStatus::kRunning, -1},
    };
    int written = 0;
    for (const DemoRun& run : runs) {
        if (run.status == store::RunStatus::kRunning && !options.with_running_run) {
            continue;
        }
        store::RunWriter writer(workspace);
        write_run(writer, run, options.steps, rng);
        ++written;
    }
    return written;
}

}  // namespace lowbit::ui
