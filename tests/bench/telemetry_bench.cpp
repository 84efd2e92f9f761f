// telemetry_bench: the quantization statistics pass (kernels::quant_stats_cpu_parallel) against
// (a) a plain fake-quant pass of the same tensor (quant::fake_quantize, CPU threads) and (b) the
// same statistics as a chain of LibTorch ops; and the fused fake-quant pass against the same
// fake quantization as a chain of LibTorch ops (abs, amax, divide, clamp, round, multiply), and
// both against a copy of the same tensor (the memory system's yardstick). Per granularity, on
// 2048 x 2048 float32, 8 bits, interleaved (interleaved.h); prints the ratios of one run. Then
// the statistics passes of one recorded step of the tiny Llama of train_bench (every tensor the
// telemetry records, at its shape and quantizer) against a copy of the same tensors: the
// kernels' share of a recorded step.
#include "lowbit/kernels/quant_stats.h"
#include "lowbit/quant/fake_quantize.h"
#include "lowbit/util/kernel_threads.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "bench_options.h"
#include "interleaved.h"

namespace {

using lowbit::kernels::FakeQuantParams;
using lowbit::kernels::Granularity;

constexpr std::int64_t kRows = 2048;
constexpr std::int64_t kCols = 2048;  // 16 MiB of float32: beyond L2, like a large weight

const torch::Tensor& bench_input() {
    static const torch::Tensor x = [] {
        torch::manual_seed(1);
        return torch::randn({kRows, kCols});
    }();
    return x;
}

FakeQuantParams params_for(Granularity granularity) {
    FakeQuantParams p;
    p.bits = 8;
    p.granularity = granularity;
    p.group_size = 128;
    return p;
}

// x viewed so that each row is one scale group: (1, n) per tensor, (rows, cols) per row,
// (n / 128, 128) per group of 128.
torch::Tensor grouped_view(const torch::Tensor& x, Granularity granularity) {
    switch (granularity) {
        case Granularity::kPerTensor:
            return x.reshape({1, -1});
        case Granularity::kPerChannel:
        case Granularity::kPerToken:
        case Granularity::kPerPosition:  // rows once the adapter has moved the positions first
            return x;
        case Granularity::kPerGroup:
        case Granularity::kPerBlock:
            break;
    }
    return x.reshape({-1, 128});
}

// Symmetric 8-bit fake quantization with LibTorch ops (docs/quantized-pretraining.md §Symmetric
// and asymmetric scales): what a user would write without our kernel.
torch::Tensor torch_fake_quant(const torch::Tensor& x, Granularity granularity) {
    const torch::Tensor xv = grouped_view(x, granularity);
    const torch::Tensor s = xv.abs().amax(1, true).clamp_min(1e-5) / 127.0;
    return ((xv / s).clamp(-128, 127).round() * s).view_as(x);
}

// The same numbers with LibTorch ops: scales, Q(x), moments in float64, counts, both histograms.
std::vector<torch::Tensor> torch_stats_chain(const torch::Tensor& x, Granularity granularity) {
    const torch::Tensor xv = grouped_view(x, granularity);
    const torch::Tensor s = xv.abs().amax(1, true).clamp_min(1e-5) / 127.0;
    const torch::Tensor t = (xv / s).view_as(x);
    const torch::Tensor q = t.clamp(-128, 127).round();
    const torch::Tensor xq = (q.view_as(xv) * s).view_as(x);
    const torch::Tensor finite = torch::isfinite(x);
    const torch::Tensor xd = x.to(torch::kDouble);
    const torch::Tensor x2 = xd * xd;
    return {xd.sum(),
            x2.sum(),
            (x2 * xd).sum(),
            (x2 * x2).sum(),
            (xd - xq.to(torch::kDouble)).pow(2).sum(),
            x.amin(),
            x.amax(),
            torch::isnan(x).sum(),
            torch::isinf(x).sum(),
            (x == 0).sum(),
            ((t.round() < -128) | (t.round() > 127)).sum(),
            ((x != 0) & (xq == 0)).sum(),
            finite.sum(),
            s.amin(),
            s.amax(),
            torch::histc(x, 64, x.amin().item<float>(), x.amax().item<float>()),
            torch::bincount((q + 128).to(torch::kLong).flatten(), {}, 256)};
}

// One tensor the telemetry records in a step: its shape and its quantizer (none: log2 scheme).
struct RecordedTensor {
    torch::Tensor x;
    std::optional<FakeQuantParams> params;
};

// The tensors of one recorded step of the tiny Llama (4 layers, d_model 128, d_ff 352, batch 12
// of 64 tokens) under W8A8G8: per layer, the inputs (A, per token) and output gradients (G, per
// token) of q, k, v, o, gate, up and down, their weights (W, per channel) and both AdamW moments
// (log2 scheme).
std::vector<RecordedTensor> llama_step_tensors() {
    constexpr std::int64_t kTokens = 12 * 64;
    constexpr std::int64_t kModel = 128;
    constexpr std::int64_t kFf = 352;
    FakeQuantParams per_token = params_for(Granularity::kPerChannel);  // rows are tokens
    FakeQuantParams per_channel = params_for(Granularity::kPerChannel);
    const std::vector<std::pair<std::int64_t, std::int64_t>> linears = {
        {kModel, kModel},
        {kModel, kModel},
        {kModel, kModel},
        {kModel, kModel},  // q k v o
        {kModel, kFf},
        {kModel, kFf},
        {kFf, kModel}};  // gate up down
    torch::manual_seed(2);
    std::vector<RecordedTensor> out;
    for (int layer = 0; layer < 4; ++layer) {
        for (const auto& [in, outs] : linears) {
            out.push_back({torch::randn({kTokens, in}), per_token});
            out.push_back({torch::randn({kTokens, outs}) * 1e-3, per_token});
            out.push_back({torch::randn({outs, in}) * 0.02, per_channel});
            out.push_back({torch::randn({outs, in}) * 1e-4, std::nullopt});
            out.push_back({torch::randn({outs, in}).square() * 1e-8, std::nullopt});
        }
    }
    return out;
}

// The recorded step's passes beside a copy of the same tensors, interleaved.
void bench_recorded_step(int rounds, int threads) {
    const std::vector<RecordedTensor> tensors = llama_step_tensors();
    std::vector<torch::Tensor> copies;
    std::int64_t values = 0;
    for (const RecordedTensor& t : tensors) {
        copies.push_back(torch::empty_like(t.x));
        values += t.x.numel();
    }
    const lowbit::kernels::QuantStatsSpec spec;
    std::vector<std::int64_t> uniform(static_cast<std::size_t>(spec.uniform_bins));
    std::vector<std::int64_t> second(512);
    std::vector<lowbit::bench::Case> cases;
    cases.push_back({"copy of the step's tensors", [&] {
                         for (std::size_t i = 0; i < tensors.size(); ++i) {
                             copies[i].copy_(tensors[i].x);
                         }
                     }});
    cases.push_back({"statistics passes of the step", [&] {
                         for (const RecordedTensor& t : tensors) {
                             lowbit::kernels::QuantStats st;
                             lowbit::kernels::quant_stats_cpu_parallel(
                                 t.x.data_ptr<float>(),
                                 t.x.size(0),
                                 t.x.size(1),
                                 t.params ? &*t.params : nullptr,
                                 spec,
                                 &st,
                                 uniform.data(),
                                 second.data(),
                                 threads);
                         }
                     }});
    const auto timings = lowbit::bench::run_interleaved(cases, rounds, 3);
    std::printf("\n## one recorded step of the tiny Llama: %zu tensors, %.2f M values\n",
                tensors.size(),
                static_cast<double>(values) / 1e6);
    lowbit::bench::print_timings(timings);
    lowbit::bench::print_ratio(timings,
                               "recorded step: statistics passes / copy",
                               "statistics passes of the step",
                               "copy of the step's tensors");
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = 15;
    CLI::App app{"telemetry_bench: the statistics pass and fused fake quantization against a copy"};
    lowbit::bench::add_rounds_option(app, rounds);
    if (const auto exit_code = lowbit::bench::parse_options(app, argc, argv)) {
        return *exit_code;
    }
    const torch::Tensor& x = bench_input();
    torch::Tensor out = torch::empty_like(x);
    const int threads = lowbit::util::kernel_threads();
    std::printf(
        "# telemetry_bench: %lldx%lld float32 (16 MiB), 8-bit symmetric, %d interleaved "
        "rounds\n",
        static_cast<long long>(kRows),
        static_cast<long long>(kCols),
        rounds);
    lowbit::bench::print_thread_settings(threads);
    const std::vector<std::pair<std::string, Granularity>> grans = {
        {"per tensor", Granularity::kPerTensor},
        {"per row", Granularity::kPerChannel},
        {"per group of 128", Granularity::kPerGroup}};
    const lowbit::kernels::QuantStatsSpec spec;
    std::vector<std::int64_t> uniform(static_cast<std::size_t>(spec.uniform_bins));
    std::vector<std::int64_t> grid(256);
    for (const auto& [name, gran] : grans) {
        const FakeQuantParams p = params_for(gran);
        std::vector<lowbit::bench::Case> cases;
        // The bandwidth yardstick: read 16 MiB, write 16 MiB, on LibTorch's threads.
        cases.push_back({"copy", [&] { out.copy_(x); }});
        cases.push_back({"fused kernel", [&, p] {
                             lowbit::kernels::fake_quant_cpu_parallel(x.data_ptr<float>(),
                                                                      kRows,
                                                                      kCols,
                                                                      p,
                                                                      out.data_ptr<float>(),
                                                                      nullptr,
                                                                      nullptr,
                                                                      threads);
                         }});
        cases.push_back(
            {"quant::fake_quantize", [&, p] { (void)lowbit::quant::fake_quantize(x, p); }});
        cases.push_back(
            {"LibTorch fake-quant chain", [&, gran] { (void)torch_fake_quant(x, gran); }});
        cases.push_back({"statistics pass", [&, p] {
                             lowbit::kernels::QuantStats st;
                             lowbit::kernels::quant_stats_cpu_parallel(x.data_ptr<float>(),
                                                                       kRows,
                                                                       kCols,
                                                                       &p,
                                                                       spec,
                                                                       &st,
                                                                       uniform.data(),
                                                                       grid.data(),
                                                                       threads);
                         }});
        cases.push_back(
            {"LibTorch statistics chain", [&, gran] { (void)torch_stats_chain(x, gran); }});
        const auto timings = lowbit::bench::run_interleaved(cases, rounds, 3);
        std::printf("\n## %s\n", name.c_str());
        lowbit::bench::print_timings(timings);
        const double copy = lowbit::bench::find_timing(timings, "copy").median_wall();
        const double fused = lowbit::bench::find_timing(timings, "fused kernel").median_wall();
        const double stats = lowbit::bench::find_timing(timings, "statistics pass").median_wall();
        lowbit::bench::print_ratio(timings,
                                   name + ": LibTorch chain / fused kernel",
                                   "LibTorch fake-quant chain",
                                   "fused kernel");
        lowbit::bench::print_ratio(timings,
                                   name + ": quant::fake_quantize / fused kernel",
                                   "quant::fake_quantize",
                                   "fused kernel");
        lowbit::bench::print_ratio(
            timings, name + ": statistics pass / fused kernel", "statistics pass", "fused kernel");
        lowbit::bench::print_ratio(timings,
                                   name + ": LibTorch statistics chain / statistics pass",
                                   "LibTorch statistics chain",
                                   "statistics pass");
        // Bandwidth as a fraction of the copy's: fake quant moves what the copy moves (read x,
        // write out); the statistics pass only reads x.
        std::printf(
            "%s: fused kernel bandwidth / copy bandwidth = %.3f; statistics pass "
            "(reads only) = %.3f\n",
            name.c_str(),
            copy / fused,
            copy / (2 * stats));
    }
    bench_recorded_step(rounds, threads);
    return 0;
}
