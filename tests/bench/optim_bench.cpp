// Optimizer benchmarks (results in docs/benchmarks.md): the fused quantized-Adam step against the
// float32 AdamW step on a GPT-2-block-sized parameter set (6.5M values), 8 and 4 bits, per row and
// per block of 256, measured in one run and printed as ratios; then the peak memory of training
// state for float32 vs 8-bit vs 4-bit moments, each configuration in a fresh child process
// (VmHWM of /proc/self/status on the CPU; CUDA peak allocated bytes on a GPU).
#include "lowbit/train/adamw.h"
#include "lowbit/train/quantized_adamw.h"

#if LOWBIT_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

namespace {

using lowbit::kernels::Granularity;
using lowbit::kernels::StateQuantFormat;
using lowbit::train::AdamW;
using lowbit::train::AdamWOptions;
using lowbit::train::Optimizer;
using lowbit::train::QuantizedAdamW;
using lowbit::train::QuantizedAdamWParam;

// One GPT-2-small block's linears (qkv, attn_out, fc1, fc2) + biases: 7.1M values.
const std::vector<std::vector<int64_t>> kBlockShapes = {
    {2304, 768}, {2304}, {768, 768}, {768}, {3072, 768}, {3072}, {768, 3072}, {768}};

struct Config {
    std::string name;
    std::optional<StateQuantFormat> format;  // nullopt: float32 AdamW
};

std::vector<Config> configs() {
    auto f = [](int bits, Granularity g) {
        StateQuantFormat format;
        format.bits = bits;
        format.granularity = g;
        format.block_size = 256;
        return format;
    };
    return {{"fp32", std::nullopt},
            {"q8_row", f(8, Granularity::kPerChannel)},
            {"q8_block256", f(8, Granularity::kPerBlock)},
            {"q4_row", f(4, Granularity::kPerChannel)},
            {"q4_block256", f(4, Granularity::kPerBlock)}};
}

torch::Device bench_device() {
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0)
                                       : torch::Device(torch::kCPU);
}

void synchronize(const torch::Device& device) {
    if (device.is_cuda()) {
        torch::cuda::synchronize();
    }
}

// `copies` GPT-2 blocks of parameters, each with a gradient.
std::vector<std::pair<std::string, torch::Tensor>> make_params(int copies,
                                                               const torch::Device& device) {
    std::vector<std::pair<std::string, torch::Tensor>> params;
    for (int c = 0; c < copies; ++c) {
        for (std::size_t i = 0; i < kBlockShapes.size(); ++i) {
            // Filled in place: no temporaries, so the peak-memory child's baseline is p + g.
            torch::Tensor p = torch::empty(kBlockShapes[i], torch::TensorOptions().device(device));
            p.normal_(0.0, 0.02);
            p.mutable_grad() = torch::empty_like(p).normal_(0.0, 1e-3);
            params.emplace_back("p" + std::to_string(c) + "_" + std::to_string(i), p);
        }
    }
    return params;
}

// Matrices get the quantized moments (the reference code quantizes Linear weights only; see
// docs/quantized-pretraining.md §Quantized AdamW).
std::unique_ptr<Optimizer> make_optimizer(
    const Config& config, const std::vector<std::pair<std::string, torch::Tensor>>& params) {
    if (!config.format) {
        return std::make_unique<AdamW>(params, AdamWOptions{});
    }
    std::vector<QuantizedAdamWParam> named;
    for (const auto& [name, p] : params) {
        const bool matrix = p.dim() >= 2;
        named.push_back({name,
                         p,
                         matrix ? config.format : std::nullopt,
                         matrix ? config.format : std::nullopt});
    }
    return std::make_unique<QuantizedAdamW>(named, AdamWOptions{});
}

std::map<std::string, double> g_seconds;

void bm_optimizer_step(benchmark::State& state, const Config& config) {
    const torch::Device device = bench_device();
    const auto params = make_params(1, device);
    std::unique_ptr<Optimizer> optimizer = make_optimizer(config, params);
    optimizer->step(1e-3);  // warm-up
    synchronize(device);
    for (auto _ : state) {
        optimizer->step(1e-3);
        synchronize(device);
    }
    int64_t n = 0;
    for (const auto& item : params) {
        n += item.second.numel();
    }
    state.SetItemsProcessed(state.iterations() * n);
    state.SetLabel(device.str() + ", state " + std::to_string(optimizer->state_bytes() >> 20) +
                   " MiB");
}

class RecordingReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& run : runs) {
            if (run.run_type == Run::RT_Iteration) {
                g_seconds[run.run_name.function_name] =
                    run.real_accumulated_time / static_cast<double>(run.iterations);
            }
        }
        ConsoleReporter::ReportRuns(runs);
    }
};

// kB of a "Vm...:" line of /proc/self/status.
int64_t status_kb(const char* key) {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(key, 0) == 0) {
            return std::stoll(line.substr(std::strlen(key)));
        }
    }
    return -1;
}

// Child: parameters + gradients of `copies` blocks, then the optimizer and 3 steps. Prints
// "<bytes before the optimizer> <peak bytes> <state bytes>": on the CPU the VmHWM after the
// parameters and after the steps; on a GPU the allocated bytes of parameters + gradients and
// the peak allocated bytes of the whole run.
int run_peak_child(const std::string& config_name, int copies) {
    for (const Config& config : configs()) {
        if (config.name != config_name) {
            continue;
        }
        const torch::Device device = bench_device();
        torch::NoGradGuard no_grad;
        const auto params = make_params(copies, device);
        int64_t before = 0;
        int64_t after = 0;
        std::unique_ptr<Optimizer> optimizer;
        if (device.is_cuda()) {
#if LOWBIT_TORCH_CUDA
            namespace alloc = c10::cuda::CUDACachingAllocator;
            synchronize(device);
            before = alloc::getDeviceStats(0).allocated_bytes[0].current;
            optimizer = make_optimizer(config, params);
            for (int i = 0; i < 3; ++i) {
                optimizer->step(1e-3);
            }
            synchronize(device);
            after = alloc::getDeviceStats(0).allocated_bytes[0].peak;
#endif
        } else {
            before = status_kb("VmHWM:") * 1024;
            optimizer = make_optimizer(config, params);
            for (int i = 0; i < 3; ++i) {
                optimizer->step(1e-3);
            }
            after = status_kb("VmHWM:") * 1024;
        }
        std::printf("%lld %lld %lld\n",
                    static_cast<long long>(before),
                    static_cast<long long>(after),
                    static_cast<long long>(optimizer ? optimizer->state_bytes() : 0));
        return 0;
    }
    std::fprintf(stderr, "unknown config %s\n", config_name.c_str());
    return 2;
}

void report_peak_memory(const char* self, int copies) {
    int64_t n = 0;
    for (const auto& shape : kBlockShapes) {
        int64_t numel = 1;
        for (int64_t d : shape) {
            numel *= d;
        }
        n += numel;
    }
    std::printf(
        "\n# peak memory: %d GPT-2 blocks = %.1fM parameters, %s, each config in a fresh "
        "process\n",
        copies,
        static_cast<double>(n * copies) / 1e6,
        bench_device().is_cuda() ? "CUDA peak allocated bytes" : "VmHWM (peak resident set)");
    std::printf("%-12s %12s %12s %12s %14s %12s\n",
                "config",
                "p+g MiB",
                "peak MiB",
                "state MiB",
                "peak-p+g MiB",
                "÷ fp32");
    double fp32_extra = 0;
    for (const Config& config : configs()) {
        const std::string command =
            std::string(self) + " --peak-child " + config.name + " " + std::to_string(copies);
        FILE* pipe = popen(command.c_str(), "r");
        long long before = 0, after = 0, state = 0;
        if (pipe == nullptr || std::fscanf(pipe, "%lld %lld %lld", &before, &after, &state) != 3) {
            std::printf("%-12s child failed\n", config.name.c_str());
            if (pipe != nullptr) {
                pclose(pipe);
            }
            continue;
        }
        pclose(pipe);
        const double extra = static_cast<double>(after - before);
        if (!config.format) {
            fp32_extra = extra;
        }
        std::printf("%-12s %12.1f %12.1f %12.1f %14.1f %12.3f\n",
                    config.name.c_str(),
                    static_cast<double>(before) / (1 << 20),
                    static_cast<double>(after) / (1 << 20),
                    static_cast<double>(state) / (1 << 20),
                    extra / (1 << 20),
                    fp32_extra > 0 ? extra / fp32_extra : 0.0);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 4 && std::strcmp(argv[1], "--peak-child") == 0) {
        return run_peak_child(argv[2], std::stoi(argv[3]));
    }
    int peak_copies = 12;  // 12 blocks: 85M parameters, 680 MB of fp32 moments
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--peak-blocks=", 14) == 0) {
            peak_copies = std::stoi(argv[i] + 14);
        }
    }
    benchmark::Initialize(&argc, argv);
    for (const Config& config : configs()) {
        const std::string name = "optimizer_step/" + config.name;
        benchmark::RegisterBenchmark(name.c_str(), bm_optimizer_step, config)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->MinTime(1.0);
    }
    RecordingReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    std::printf(
        "\n# device %s, threads %d, one GPT-2-small block (7.1M parameters; moments of the "
        "4 weight matrices quantized, biases fp32)\n",
        bench_device().str().c_str(),
        at::get_num_threads());
    const double fp32 = g_seconds["optimizer_step/fp32"];
    for (const Config& config : configs()) {
        const double s = g_seconds["optimizer_step/" + config.name];
        if (fp32 > 0 && s > 0) {
            std::printf("%-12s step %.3f ms = %.3f x the fp32 AdamW step\n",
                        config.name.c_str(),
                        s * 1e3,
                        s / fp32);
        }
    }
    if (peak_copies > 0) {
        report_peak_memory(argv[0], peak_copies);
    }
    benchmark::Shutdown();
    return 0;
}
