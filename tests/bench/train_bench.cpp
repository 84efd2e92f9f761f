// Training throughput of the engine-issue configuration (4 layers, 4 heads, d_model 128,
// context 64, batch 12, byte vocabulary) for GPT-2 and Llama: tokens/s of a full training step
// (forward, backward, clipping, AdamW) and the time of the optimizer step alone, measured in one
// run so their ratio is meaningful. Prints the device, dtype and shape with every number.
#include "lowbit/model/language_model.h"
#include "lowbit/train/adamw.h"
#include "lowbit/util/autocast_guard.h"

#include <cstdio>
#include <map>
#include <string>

#include <benchmark/benchmark.h>

namespace {

using lowbit::config::ModelFamily;

constexpr int kBatch = 12;
constexpr int kContext = 64;

struct Setup {
    std::shared_ptr<lowbit::model::LanguageModelImpl> model;
    std::unique_ptr<lowbit::train::AdamW> optimizer;
    torch::Tensor inputs;   // (B, T) int64
    torch::Tensor targets;  // (B, T) int64
    torch::Device device{torch::kCPU};
};

Setup make_setup(ModelFamily family) {
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
    std::vector<std::pair<std::string, torch::Tensor>> params;
    for (const auto& item : s.model->named_parameters()) {
        params.emplace_back(item.key(), item.value());
    }
    s.optimizer = std::make_unique<lowbit::train::AdamW>(params, lowbit::train::AdamWOptions{});
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
    s.optimizer->step(1e-3);
}

void bm_train_step(benchmark::State& state,
                   ModelFamily family,
                   bool bf16,
                   const std::string& name) {
    Setup s = make_setup(family);
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
        benchmark::RegisterBenchmark(step.c_str(), bm_train_step, family, false, step)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->MinTime(2.0);
        benchmark::RegisterBenchmark(step_bf16.c_str(), bm_train_step, family, true, step_bf16)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->MinTime(2.0);
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
    }
    benchmark::Shutdown();
    return 0;
}
