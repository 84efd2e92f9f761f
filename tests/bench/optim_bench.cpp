// Optimizer benchmarks (results in docs/benchmarks.md): the fused quantized-Adam step against the
// float32 AdamW step on a GPT-2-block-sized parameter set (6.5M values), 8 and 4 bits, per row and
// per block of 256, interleaved in one run (interleaved.h) and printed as ratios; then the peak
// memory of training state for float32 vs 8-bit vs 4-bit moments, each configuration in a fresh
// child process (VmHWM of /proc/self/status on the CPU; CUDA peak allocated bytes on a GPU).
#include "lowbit/train/adamw.h"
#include "lowbit/train/quantized_adamw.h"

#if LOWBIT_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_options.h"
#include "interleaved.h"

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
    int rounds = 15;
    CLI::App app{"optim_bench: quantized-AdamW steps against fp32 AdamW, and their peak memory"};
    lowbit::bench::add_rounds_option(app, rounds);
    app.add_option("--peak-blocks",
                   peak_copies,
                   "GPT-2-small blocks whose moments the peak-memory children hold")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    if (const auto exit_code = lowbit::bench::parse_options(app, argc, argv)) {
        return *exit_code;
    }
    const torch::Device device = bench_device();
    std::printf(
        "# optim_bench: device %s, one GPT-2-small block (7.1M parameters; moments of the "
        "4 weight matrices quantized, biases fp32), %d interleaved rounds\n",
        device.str().c_str(),
        rounds);
    lowbit::bench::print_thread_settings(at::get_num_threads());

    // Every configuration has its own parameters and optimizer; their steps alternate.
    struct Setup {
        std::vector<std::pair<std::string, torch::Tensor>> params;
        std::unique_ptr<Optimizer> optimizer;
    };

    std::vector<std::unique_ptr<Setup>> setups;
    std::vector<lowbit::bench::Case> cases;
    for (const Config& config : configs()) {
        auto setup = std::make_unique<Setup>();
        setup->params = make_params(1, device);
        setup->optimizer = make_optimizer(config, setup->params);
        Setup* s = setup.get();
        cases.push_back({config.name, [s, device] {
                             s->optimizer->step(1e-3);
                             synchronize(device);
                         }});
        setups.push_back(std::move(setup));
    }
    const auto timings = lowbit::bench::run_interleaved(cases, rounds, 3);
    lowbit::bench::print_timings(timings);
    for (const Config& config : configs()) {
        if (config.format) {
            lowbit::bench::print_ratio(
                timings, config.name + " step / fp32 AdamW step", config.name, "fp32");
        }
    }
    if (peak_copies > 0) {
        report_peak_memory(argv[0], peak_copies);
    }
    return 0;
}
