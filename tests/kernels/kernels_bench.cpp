// kernels_bench: reference vs CPU-parallel timings of tensor_stats and fake_quant (per
// granularity) on 4096 x 4096 float32, plus a same-run multi-threaded triad as the bandwidth
// denominator (docs/benchmarks.md §How the benchmarks measure). After the Google Benchmark table
// it prints one line per op:
// "<op> <shape>: cpu_parallel/ref time = R (speedup S x), cpu_parallel BW / triad BW = F".
#include "lowbit/kernels/fake_quant.h"
#include "lowbit/kernels/tensor_stats.h"

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

namespace lowbit::kernels {
namespace {

constexpr std::int64_t kRows = 4096;
constexpr std::int64_t kCols = 4096;
constexpr std::int64_t kN = kRows * kCols;     // 64 MiB of float32: far beyond the caches
constexpr double kTriadBytes = 12.0 * kN;      // 2 reads + 1 write of float32
constexpr double kStatsBytes = 4.0 * kN;       // 1 read
constexpr double kFakeQuantBytes = 12.0 * kN;  // 2 reads (reduce, map) + 1 write

const std::vector<float>& bench_input() {
    static const std::vector<float> x = [] {
        std::mt19937_64 rng(7);
        std::normal_distribution<float> dist(0.0f, 1.0f);
        std::vector<float> v(static_cast<std::size_t>(kN));
        for (float& f : v) {
            f = dist(rng);
        }
        return v;
    }();
    return x;
}

// a = b + s*c on all hardware threads, counted as 3 * 4 bytes per element (2 reads, 1 write).
void bench_triad(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(kN);
    std::vector<float> a(n, 0.0f), b(n, 1.0f), c(n, 2.0f);
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    for (auto _ : state) {
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < threads; ++t) {
            pool.emplace_back([&, t] {
                const std::size_t begin = n * t / threads;
                const std::size_t end = n * (t + 1) / threads;
                for (std::size_t i = begin; i < end; ++i) {
                    a[i] = b[i] + 0.5f * c[i];
                }
            });
        }
        for (auto& th : pool) {
            th.join();
        }
        benchmark::DoNotOptimize(a.data());
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kTriadBytes));
}

void bench_tensor_stats(benchmark::State& state, bool parallel) {
    const auto& x = bench_input();
    const HistogramSpec spec = histogram_uniform(256, -4.0, 4.0);
    std::vector<std::int64_t> counts(256);
    TensorStats s;
    for (auto _ : state) {
        const Status st = parallel
                              ? tensor_stats_cpu_parallel(x.data(), kN, spec, &s, counts.data())
                              : tensor_stats_ref(x.data(), kN, spec, &s, counts.data());
        benchmark::DoNotOptimize(st);
        benchmark::DoNotOptimize(s);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kStatsBytes));
}

void bench_fake_quant(benchmark::State& state, Granularity gran, bool parallel) {
    const auto& x = bench_input();
    std::vector<float> out(x.size());
    FakeQuantParams p;
    p.bits = 8;
    p.granularity = gran;
    p.group_size = 128;
    for (auto _ : state) {
        const Status st =
            parallel
                ? fake_quant_cpu_parallel(x.data(), kRows, kCols, p, out.data(), nullptr, nullptr)
                : fake_quant_ref(x.data(), kRows, kCols, p, out.data(), nullptr, nullptr);
        benchmark::DoNotOptimize(st);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kFakeQuantBytes));
}

// Work runs on worker threads, so every benchmark uses real (wall) time, not the main thread CPU.

// Keeps each run's mean time per iteration so main() can print the ratios.
class RatioReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& r : runs) {
            std::string name = r.benchmark_name();
            const std::string suffix = "/real_time";  // added by UseRealTime()
            if (name.size() > suffix.size() &&
                name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
                name.resize(name.size() - suffix.size());
            }
            seconds_[name] = r.GetAdjustedRealTime() * 1e-3;  // every run uses kMillisecond
        }
        ConsoleReporter::ReportRuns(runs);
    }

    /// bytes: memory traffic of one iteration of `par` (the same model as its SetBytesProcessed).
    void print_ratio(const std::string& label,
                     const std::string& ref,
                     const std::string& par,
                     double bytes) {
        if (seconds_.count(ref) == 0 || seconds_.count(par) == 0) {
            return;  // filtered out on the command line
        }
        const double ratio = seconds_[par] / seconds_[ref];
        const double triad = seconds_.count("triad") != 0 ? kTriadBytes / seconds_["triad"] : 0.0;
        const double bandwidth = bytes / seconds_[par];
        const double bw_fraction = triad > 0.0 ? bandwidth / triad : 0.0;
        std::printf(
            "%s 4096x4096: cpu_parallel/ref time = %.3f (speedup %.2fx), cpu_parallel %.2f GB/s "
            "= %.2f of same-run triad %.2f GB/s\n",
            label.c_str(),
            ratio,
            1.0 / ratio,
            bandwidth / 1e9,
            bw_fraction,
            triad / 1e9);
    }

private:
    std::map<std::string, double> seconds_;  // wall seconds per iteration
};

void register_benchmarks() {
    benchmark::RegisterBenchmark("triad", bench_triad)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("tensor_stats/ref", bench_tensor_stats, false)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("tensor_stats/cpu_parallel", bench_tensor_stats, true)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    const std::pair<const char*, Granularity> grans[] = {{"per_tensor", Granularity::kPerTensor},
                                                         {"per_row", Granularity::kPerChannel},
                                                         {"per_group128", Granularity::kPerGroup}};
    for (const auto& [name, gran] : grans) {
        benchmark::RegisterBenchmark(
            ("fake_quant_" + std::string(name) + "/ref").c_str(), bench_fake_quant, gran, false)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(("fake_quant_" + std::string(name) + "/cpu_parallel").c_str(),
                                     bench_fake_quant,
                                     gran,
                                     true)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    }
}

}  // namespace
}  // namespace lowbit::kernels

int main(int argc, char** argv) {
    using namespace lowbit::kernels;
    benchmark::Initialize(&argc, argv);
    register_benchmarks();
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    std::printf("\nthreads: %u (hardware_concurrency)\n", std::thread::hardware_concurrency());
    reporter.print_ratio(
        "tensor_stats uniform256", "tensor_stats/ref", "tensor_stats/cpu_parallel", kStatsBytes);
    for (const char* g : {"per_tensor", "per_row", "per_group128"}) {
        const std::string base = std::string("fake_quant_") + g;
        reporter.print_ratio("fake_quant 8b sym " + std::string(g),
                             base + "/ref",
                             base + "/cpu_parallel",
                             kFakeQuantBytes);
    }
    benchmark::Shutdown();
    return 0;
}
