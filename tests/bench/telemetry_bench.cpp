// telemetry_bench: the quantization statistics pass (kernels::quant_stats_cpu_parallel) against
// (a) a plain fake-quant pass of the same tensor (quant::fake_quantize, CPU threads) and (b) the
// same statistics as a chain of LibTorch ops; and the fused fake-quant pass against the same
// fake quantization as a chain of LibTorch ops (abs, amax, divide, clamp, round, multiply). Per
// granularity, on 2048 x 2048 float32, 8 bits. Prints the time ratios measured side by side in
// one run: "stats / fake_quant", "stats / torch chain", "fake_quant / torch fake-quant chain".
#include "lowbit/kernels/quant_stats.h"
#include "lowbit/quant/fake_quantize.h"

#include <torch/torch.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

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

void bench_torch_fake_quant(benchmark::State& state, Granularity granularity) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(torch_fake_quant(bench_input(), granularity));
    }
}

void bench_fake_quant(benchmark::State& state, Granularity granularity) {
    const FakeQuantParams p = params_for(granularity);
    for (auto _ : state) {
        benchmark::DoNotOptimize(lowbit::quant::fake_quantize(bench_input(), p));
    }
}

void bench_quant_stats(benchmark::State& state, Granularity granularity) {
    const FakeQuantParams p = params_for(granularity);
    const lowbit::kernels::QuantStatsSpec spec;
    std::vector<std::int64_t> uniform(static_cast<std::size_t>(spec.uniform_bins));
    std::vector<std::int64_t> grid(256);
    lowbit::kernels::QuantStats s;
    const float* x = bench_input().data_ptr<float>();
    for (auto _ : state) {
        benchmark::DoNotOptimize(lowbit::kernels::quant_stats_cpu_parallel(
            x, kRows, kCols, &p, spec, &s, uniform.data(), grid.data(), at::get_num_threads()));
        benchmark::DoNotOptimize(s);
    }
}

// The same numbers with LibTorch ops: scales, Q(x), moments in float64, counts, both histograms.
void bench_torch_chain(benchmark::State& state, Granularity granularity) {
    const torch::Tensor& x = bench_input();
    for (auto _ : state) {
        const torch::Tensor xv = grouped_view(x, granularity);
        const torch::Tensor s = xv.abs().amax(1, true).clamp_min(1e-5) / 127.0;
        const torch::Tensor t = (xv / s).view_as(x);
        const torch::Tensor q = t.clamp(-128, 127).round();
        const torch::Tensor xq = (q.view_as(xv) * s).view_as(x);
        const torch::Tensor finite = torch::isfinite(x);
        const torch::Tensor xd = x.to(torch::kDouble);
        const torch::Tensor x2 = xd * xd;
        std::vector<torch::Tensor> results = {
            xd.sum(),
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
        benchmark::DoNotOptimize(results.data());
    }
}

class RatioReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& r : runs) {
            std::string name = r.benchmark_name();
            const std::string suffix = "/real_time";
            if (name.size() > suffix.size() &&
                name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
                name.resize(name.size() - suffix.size());
            }
            ms_[name] = r.GetAdjustedRealTime();  // every run uses kMillisecond
        }
        ConsoleReporter::ReportRuns(runs);
    }

    void print_ratios(const std::string& gran) {
        const std::string stats = "quant_stats/" + gran;
        const std::string fq = "fake_quant/" + gran;
        const std::string chain = "torch_chain/" + gran;
        const std::string torch_fq = "torch_fake_quant/" + gran;
        if (ms_.count(stats) == 0 || ms_.count(fq) == 0 || ms_.count(chain) == 0 ||
            ms_.count(torch_fq) == 0) {
            return;  // filtered out on the command line
        }
        std::printf(
            "%s 2048x2048 8-bit, %d threads: stats %.2f ms; stats / fake_quant = %.2f; "
            "stats / torch chain = %.3f; fake_quant %.2f ms / torch fake-quant chain %.2f ms = "
            "%.3f\n",
            gran.c_str(),
            at::get_num_threads(),
            ms_[stats],
            ms_[stats] / ms_[fq],
            ms_[stats] / ms_[chain],
            ms_[fq],
            ms_[torch_fq],
            ms_[fq] / ms_[torch_fq]);
    }

private:
    std::map<std::string, double> ms_;
};

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    const std::vector<std::pair<std::string, Granularity>> grans = {
        {"per_tensor", Granularity::kPerTensor},
        {"per_row", Granularity::kPerChannel},
        {"per_group128", Granularity::kPerGroup}};
    for (const auto& [name, gran] : grans) {
        // Interleaved per granularity, so the four are measured side by side.
        benchmark::RegisterBenchmark(("fake_quant/" + name).c_str(), bench_fake_quant, gran)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(
            ("torch_fake_quant/" + name).c_str(), bench_torch_fake_quant, gran)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(("quant_stats/" + name).c_str(), bench_quant_stats, gran)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(("torch_chain/" + name).c_str(), bench_torch_chain, gran)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    }
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    for (const auto& [name, gran] : grans) {
        reporter.print_ratios(name);
    }
    benchmark::Shutdown();
    return 0;
}
