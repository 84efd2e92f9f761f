// Training throughput of the tiny configuration (4 layers, 4 heads, d_model 128, context 64,
// batch 12, byte vocabulary) for GPT-2 and Llama: tokens/s of a full training step (forward,
// backward, clipping, AdamW) and the time of the optimizer step alone; and, for quantized
// pretraining, the W8A8G8 step (W per channel, A and G per token, 8 bits) and the same step with
// the quantization telemetry of every 10th step written to a workspace. All measured in one run
// so their ratios are meaningful (results in docs/benchmarks.md). Prints the device, dtype and
// shape.
#include "lowbit/model/language_model.h"
#include "lowbit/quant/quant_plan.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"
#include "lowbit/train/layer_telemetry.h"
#include "lowbit/train/make_optimizer.h"
#include "lowbit/util/autocast_guard.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "temp_dir.h"
#include <benchmark/benchmark.h>
#include <unistd.h>

namespace {

using lowbit::config::ModelFamily;

constexpr int kBatch = 12;
constexpr int kContext = 64;

// What a benchmarked step runs besides the plain fp32 step.
enum class Variant { kFp32, kBf16, kW8A8G8, kW8A8G8Telemetry };

// The recipe of a variant: the paper's W8A8G8 (docs/quantized-pretraining.md §The paper's
// findings), telemetry every 10 steps for the last variant (never otherwise).
lowbit::config::Recipe variant_recipe(Variant variant) {
    lowbit::config::Recipe recipe;
    recipe.telemetry.every = variant == Variant::kW8A8G8Telemetry ? 10 : 0;
    if (variant == Variant::kW8A8G8 || variant == Variant::kW8A8G8Telemetry) {
        recipe.quant.weight.bits = 8;
        recipe.quant.activation.bits = 8;
        recipe.quant.grad_output.bits = 8;
    }
    return recipe;
}

// A workspace in a temporary folder (removed afterwards) with one run, for the telemetry
// variant's records.
struct TelemetrySink {
    explicit TelemetrySink(std::filesystem::path folder)
        : root(std::move(folder)),
          workspace(lowbit::store::Workspace::open(root)),
          writer(workspace) {
        lowbit::store::RunRecord record;
        record.name = "train_bench";
        record.kind = "train";
        run_id = writer.create_run(record);
    }

    ~TelemetrySink() {
        lowbit::testing::remove_tree(root);
    }

    TelemetrySink(const TelemetrySink&) = delete;
    TelemetrySink& operator=(const TelemetrySink&) = delete;

    std::filesystem::path root;
    lowbit::store::Workspace workspace;
    lowbit::store::RunWriter writer;
    int64_t run_id = 0;
};

struct Setup {
    std::shared_ptr<lowbit::model::LanguageModelImpl> model;
    std::unique_ptr<lowbit::train::Optimizer> optimizer;
    std::unique_ptr<lowbit::train::LayerTelemetry> telemetry;
    std::unique_ptr<TelemetrySink> sink;
    int64_t steps_done = 0;
    torch::Tensor inputs;   // (B, T) int64
    torch::Tensor targets;  // (B, T) int64
    torch::Device device{torch::kCPU};
};

Setup make_setup(ModelFamily family, Variant variant = Variant::kFp32) {
    Setup s;
    s.device =
        torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    lowbit::model::ModelConfig cfg;
    cfg.family = family;
    cfg.layers = 4;
    cfg.heads = 4;
    cfg.d_model = 128;
    cfg.d_ff = lowbit::model::default_d_ff(family, 128);
    cfg.context = kContext;
    cfg.vocab_size = 256;
    s.model = lowbit::model::create_model(cfg, 1);
    s.model->to(s.device);
    const lowbit::config::Recipe recipe = variant_recipe(variant);
    s.model->set_quant_plan(std::make_shared<const lowbit::quant::QuantPlan>(
        lowbit::quant::resolve_quant_plan(recipe, *s.model)));
    s.optimizer = lowbit::train::make_optimizer(recipe, *s.model);
    if (recipe.telemetry.every > 0) {
        s.sink =
            std::make_unique<TelemetrySink>(std::filesystem::temp_directory_path() /
                                            ("lowbit-train-bench-" + std::to_string(::getpid())));
        s.telemetry = std::make_unique<lowbit::train::LayerTelemetry>(recipe, *s.model);
    }
    s.inputs = torch::randint(0, 256, {kBatch, kContext}, torch::kInt64).to(s.device);
    s.targets = torch::randint(0, 256, {kBatch, kContext}, torch::kInt64).to(s.device);
    return s;
}

void synchronize(const torch::Device& device) {
    if (device.is_cuda()) {
        torch::cuda::synchronize();
    }
}

std::map<std::string, double> g_seconds;  // benchmark name -> seconds per iteration

void train_step(Setup& s, bool bf16) {
    const int64_t done = ++s.steps_done;
    const bool log_telemetry = s.telemetry && s.telemetry->begin_step(done);
    for (auto& p : s.model->parameters()) {
        p.mutable_grad() = torch::Tensor();
    }
    torch::Tensor loss;
    {
        lowbit::util::AutocastGuard autocast(s.device.type(), bf16);
        loss = lowbit::model::lm_loss(s.model->forward(s.inputs), s.targets);
    }
    loss.backward();
    torch::nn::utils::clip_grad_norm_(s.model->parameters(), 1.0);
    if (log_telemetry) {
        s.telemetry->before_update(*s.optimizer);
    }
    s.optimizer->step(1e-3);
    if (log_telemetry) {
        s.telemetry->finish_step(done, s.sink->writer, s.sink->run_id);
    }
}

void bm_train_step(benchmark::State& state,
                   ModelFamily family,
                   Variant variant,
                   const std::string& name) {
    Setup s = make_setup(family, variant);
    const bool bf16 = variant == Variant::kBf16;
    for (int i = 0; i < 3; ++i) {
        train_step(s, bf16);  // warm-up: allocator, kernels
    }
    synchronize(s.device);
    for (auto _ : state) {
        train_step(s, bf16);
        synchronize(s.device);
    }
    state.SetItemsProcessed(state.iterations() * kBatch * kContext);
    state.SetLabel(s.device.str());
    g_seconds[name] = 0;  // filled by the reporter below
}

void bm_optimizer_step(benchmark::State& state, ModelFamily family, const std::string& name) {
    Setup s = make_setup(family);
    train_step(s, false);  // creates gradients
    synchronize(s.device);
    for (auto _ : state) {
        s.optimizer->step(1e-3);
        synchronize(s.device);
    }
    state.SetLabel(s.device.str());
    g_seconds[name] = 0;
}

// Records seconds per iteration of each benchmark for the ratio lines printed at the end.
class RecordingReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& run : runs) {
            if (run.run_type == Run::RT_Iteration) {
                // real_accumulated_time is in seconds over all iterations, independent of the
                // display unit (GetAdjustedRealTime() is in the benchmark's Unit()).
                g_seconds[run.run_name.function_name] =
                    run.real_accumulated_time / static_cast<double>(run.iterations);
            }
        }
        ConsoleReporter::ReportRuns(runs);
    }
};

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    const std::string device = torch::cuda::is_available() ? "cuda" : "cpu";
    for (auto [family, tag] :
         {std::pair{ModelFamily::kGpt2, "gpt2"}, std::pair{ModelFamily::kLlama, "llama"}}) {
        const std::string step = std::string("train_step/") + tag + "/fp32";
        const std::string step_bf16 = std::string("train_step/") + tag + "/bf16";
        const std::string opt = std::string("optimizer_step/") + tag;
        for (auto [variant, name] :
             {std::pair{Variant::kFp32, step},
              std::pair{Variant::kBf16, step_bf16},
              std::pair{Variant::kW8A8G8, step + "/w8a8g8"},
              std::pair{Variant::kW8A8G8Telemetry, step + "/w8a8g8/telemetry10"}}) {
            benchmark::RegisterBenchmark(name.c_str(), bm_train_step, family, variant, name)
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime()
                ->MinTime(2.0);
        }
        benchmark::RegisterBenchmark(opt.c_str(), bm_optimizer_step, family, opt)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->MinTime(1.0);
    }
    RecordingReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    std::printf("\n# device %s, threads %d, shape B=%d T=%d d_model=128 layers=4 vocab=256\n",
                device.c_str(),
                at::get_num_threads(),
                kBatch,
                kContext);
    for (const char* tag : {"gpt2", "llama"}) {
        for (const char* dtype : {"fp32", "bf16"}) {
            const double step = g_seconds[std::string("train_step/") + tag + "/" + dtype];
            if (step > 0) {
                std::printf("%s %s: %.0f tokens/s (step %.3f ms)\n",
                            tag,
                            dtype,
                            kBatch * kContext / step,
                            step * 1e3);
            }
        }
        const double step = g_seconds[std::string("train_step/") + tag + "/fp32"];
        const double opt = g_seconds[std::string("optimizer_step/") + tag];
        if (step > 0 && opt > 0) {
            std::printf("%s optimizer step %.3f ms = %.3f of the fp32 training step (%.3f ms)\n",
                        tag,
                        opt * 1e3,
                        opt / step,
                        step * 1e3);
        }
        const double bf16 = g_seconds[std::string("train_step/") + tag + "/bf16"];
        if (step > 0 && bf16 > 0) {
            std::printf("%s bf16 step / fp32 step = %.3f\n", tag, bf16 / step);
        }
        const std::string quantized = std::string("train_step/") + tag + "/fp32/w8a8g8";
        const double w8a8g8 = g_seconds[quantized];
        const double with_telemetry = g_seconds[quantized + "/telemetry10"];
        if (step > 0 && w8a8g8 > 0) {
            std::printf("%s W8A8G8 step / fp32 step = %.3f\n", tag, w8a8g8 / step);
        }
        if (w8a8g8 > 0 && with_telemetry > 0) {
            std::printf("%s W8A8G8 step with telemetry every 10 steps / without = %.3f\n",
                        tag,
                        with_telemetry / w8a8g8);
        }
    }
    benchmark::Shutdown();
    return 0;
}
