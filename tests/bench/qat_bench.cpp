// EfficientQAT benchmarks (results in docs/benchmarks.md §EfficientQAT): the packed
// dequantize-on-the-fly linear ÷ the dense fp32 linear (LibTorch's) at batch 1 and 16, on the CPU
// and, when one is visible, the GPU; then Block-AP seconds per block and E2E-QP tokens per
// second on a tiny Llama. Each pair is timed interleaved (dense, packed, dense, packed, ...) so
// both see the same machine load; medians, the 10-90 % spread and process CPU time are printed.
#include "lowbit/qat/block_ap.h"
#include "lowbit/qat/e2e_qp.h"
#include "lowbit/qat/packed_linear.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "bench_options.h"

namespace {

using Clock = std::chrono::steady_clock;
using lowbit::qat::GroupQuantizer;
using lowbit::qat::PackedLinear;

double process_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    const auto at = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(at, v.size() - 1)];
}

struct Timing {
    std::vector<double> wall_us;
    std::vector<double> cpu_us;
};

// Times one call of fn (`inner` repetitions per sample, synchronising a GPU after them).
template <typename Fn>
void sample(Timing& t, int inner, bool cuda, Fn&& fn) {
    const double cpu0 = process_cpu_seconds();
    const auto t0 = Clock::now();
    for (int i = 0; i < inner; ++i) {
        fn();
    }
    if (cuda) {
        torch::cuda::synchronize();
    }
    const double wall = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    t.wall_us.push_back(wall / inner);
    t.cpu_us.push_back((process_cpu_seconds() - cpu0) * 1e6 / inner);
}

void bench_linear(const torch::Device& device, int64_t out, int64_t in, int bits, int64_t batch) {
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(1);
    const torch::Tensor w = torch::randn({out, in}, gen) * 0.02;
    GroupQuantizer q(w, {.bits = bits, .group_size = 128});
    q.finalize();
    PackedLinear packed(lowbit::qat::pack_weight(w, q));
    packed.to(device);
    const torch::Tensor dense_w = q.fake_quantize(w).to(device);
    const torch::Tensor x = torch::randn({batch, in}, gen).to(device);
    torch::NoGradGuard no_grad;
    const bool cuda = device.is_cuda();
    // Warm-up, and a check that both compute the same product.
    const torch::Tensor y_dense = torch::nn::functional::linear(x, dense_w);
    const torch::Tensor y_packed = packed.forward(x, dense_w, torch::Tensor());
    const double max_diff = (y_dense - y_packed).abs().max().item<double>();
    const int inner = batch == 1 ? 20 : 5;
    Timing dense;
    Timing pack;
    for (int rep = 0; rep < 31; ++rep) {
        sample(dense, inner, cuda, [&] { (void)torch::nn::functional::linear(x, dense_w); });
        sample(pack, inner, cuda, [&] { (void)packed.forward(x, dense_w, torch::Tensor()); });
    }
    const double d = quantile(dense.wall_us, 0.5);
    const double p = quantile(pack.wall_us, 0.5);
    std::printf(
        "%-6s %5lldx%-5lld w%dg128 batch %-3lld dense %9.1f us [%8.1f, %8.1f] cpu %9.1f | packed "
        "%9.1f us [%8.1f, %8.1f] cpu %9.1f | packed/dense %.3f  max|dy| %.1e\n",
        device.is_cuda() ? "cuda" : "cpu",
        static_cast<long long>(out),
        static_cast<long long>(in),
        bits,
        static_cast<long long>(batch),
        d,
        quantile(dense.wall_us, 0.1),
        quantile(dense.wall_us, 0.9),
        quantile(dense.cpu_us, 0.5),
        p,
        quantile(pack.wall_us, 0.1),
        quantile(pack.wall_us, 0.9),
        quantile(pack.cpu_us, 0.5),
        p / d,
        max_diff);
}

void bench_phases() {
    lowbit::model::ModelConfig cfg;
    cfg.family = lowbit::config::ModelFamily::kLlama;
    cfg.layers = 4;
    cfg.heads = 4;
    cfg.d_model = 256;
    cfg.d_ff = 768;
    cfg.context = 128;
    cfg.vocab_size = 512;
    auto model = lowbit::model::create_model(cfg, 3);
    model->eval();
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(4);
    const torch::Tensor train = torch::randint(0, 512, {64, 128}, gen);
    const torch::Tensor val = torch::randint(0, 512, {8, 128}, gen);
    lowbit::qat::BlockApOptions o;
    o.spec = {.bits = 2, .group_size = 128};
    o.epochs = 1;
    o.batch = 4;
    lowbit::qat::ActivationStreams s = lowbit::qat::block_zero_inputs(*model, train, val, 4);
    std::vector<double> block_seconds;
    for (int64_t b = 0; b < cfg.layers; ++b) {
        const auto t0 = Clock::now();
        lowbit::qat::train_block(*model, b, s, o, {});
        block_seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    std::printf(
        "\nBlock-AP, tiny Llama (%lld parameters, d_model 256, d_ff 768, 4 blocks), w2g128, 64 "
        "windows x 128 tokens, batch 4, 1 epoch (16 steps) per block:\n  seconds per block: "
        "median %.2f, min %.2f, max %.2f (targets, training, finalising and both streams)\n",
        static_cast<long long>(model->parameter_count()),
        quantile(block_seconds, 0.5),
        quantile(block_seconds, 0.0),
        quantile(block_seconds, 1.0));
    const torch::Tensor windows = torch::randint(0, 512, {64, 129}, gen);
    lowbit::qat::E2eQpOptions e;
    e.global_batch = 16;
    e.micro_batch = 4;
    std::vector<double> step_seconds;
    lowbit::qat::train_steps_end_to_end(*model, windows, e, [&](const lowbit::qat::E2eQpStep& st) {
        step_seconds.push_back(st.seconds);
    });
    const double tokens_per_step = 16.0 * 128.0;
    std::printf(
        "E2E-QP on the packed model, global batch 16 x 128 tokens, micro-batch 4: median step "
        "%.3f s, %.0f tokens/s\n",
        quantile(step_seconds, 0.5),
        tokens_per_step / quantile(step_seconds, 0.5));
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "qat_bench: the packed linear against dense float32, and Block-AP and E2E-QP rates"};
    if (const auto exit_code = lowbit::bench::parse_options(app, argc, argv)) {
        return *exit_code;
    }
    std::printf("threads: LibTorch intra-op %d (the packed CPU kernel uses the same count)\n\n",
                at::get_num_threads());
    std::vector<torch::Device> devices = {torch::Device(torch::kCPU)};
    if (torch::cuda::is_available()) {
        devices.emplace_back(torch::kCUDA, 0);
    }
    // 2048 x 2048 and 5632 x 2048 (a 1B-parameter Llama's attention and MLP shapes) fit in a
    // large L3 cache as fp32; 8192 x 8192 (256 MiB as fp32) does not, so its dense product
    // streams the weights from memory, which is where reading bits/8 bytes per weight pays.
    for (const torch::Device& device : devices) {
        for (const auto& [out, in] :
             std::vector<std::pair<int64_t, int64_t>>{{2048, 2048}, {5632, 2048}, {8192, 8192}}) {
            for (const int bits : {2, 3, 4, 8}) {
                for (const int64_t batch : {1, 16}) {
                    bench_linear(device, out, in, bits, batch);
                }
            }
        }
    }
    bench_phases();
    return 0;
}
