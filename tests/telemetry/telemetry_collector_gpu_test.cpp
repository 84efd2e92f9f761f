// TelemetryCollector with CUDA tensors: every entry equals the same tensor's entry on the CPU
// (counts, min/max and scales exactly, sums to rounding), across enough entries to grow the
// step's device result buffer, and across two steps reusing it. Skips without a CUDA device.
#include "lowbit/kernels/device.h"
#include "lowbit/telemetry/telemetry_collector.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace lowbit::telemetry {
namespace {

TEST(TelemetryCollectorGpu, CudaEntriesEqualCpuEntries) {
    if (!kernels::cuda_device_available() || !torch::cuda::is_available()) {
        GTEST_SKIP() << "no CUDA device on this machine";
    }
    torch::manual_seed(3);
    std::vector<torch::Tensor> tensors;
    std::vector<std::optional<kernels::FakeQuantParams>> params;
    for (int i = 0; i < 300; ++i) {  // 300 blocks of >= 1 KiB: the 64 KiB buffer grows
        tensors.push_back(torch::randn({1 + i % 7, 64 + i}) * (1.0 + i));
        kernels::FakeQuantParams p;
        p.bits = 2 + i % 7;
        p.symmetric = i % 3 != 0;
        p.granularity =
            i % 2 == 0 ? kernels::Granularity::kPerChannel : kernels::Granularity::kPerTensor;
        params.push_back(i % 5 == 4 ? std::nullopt : std::optional(p));
    }
    tensors[1].index_put_({0, 0}, std::nanf(""));
    TelemetryCollector cpu;
    TelemetryCollector gpu;
    for (const std::int64_t step : {1, 2}) {
        cpu.begin_step(step);
        gpu.begin_step(step);
        for (std::size_t i = 0; i < tensors.size(); ++i) {
            const kernels::FakeQuantParams* p = params[i] ? &*params[i] : nullptr;
            cpu.add("t" + std::to_string(i), TensorKind::kWeight, tensors[i], p);
            const torch::Tensor dev = tensors[i].to(torch::kCUDA);
            gpu.add("t" + std::to_string(i),
                    TensorKind::kWeight,
                    i % 4 == 3 ? dev.to(torch::kBFloat16).to(torch::kFloat) : dev,
                    p);
        }
        const std::vector<TelemetryEntry> a = cpu.collect();
        const std::vector<TelemetryEntry> b = gpu.collect();
        ASSERT_EQ(a.size(), b.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (i % 4 == 3) {
                continue;  // rounded through bf16 on purpose: only checks the dtype path runs
            }
            SCOPED_TRACE("entry " + std::to_string(i));
            EXPECT_EQ(a[i].uniform_counts, b[i].uniform_counts);
            EXPECT_EQ(a[i].second_counts, b[i].second_counts);
            EXPECT_EQ(a[i].stats.n, b[i].stats.n);
            EXPECT_EQ(a[i].stats.nan_count, b[i].stats.nan_count);
            EXPECT_EQ(a[i].stats.clipped_low, b[i].stats.clipped_low);
            EXPECT_EQ(a[i].stats.clipped_high, b[i].stats.clipped_high);
            EXPECT_EQ(a[i].stats.underflow_count, b[i].stats.underflow_count);
            EXPECT_EQ(a[i].stats.min, b[i].stats.min);
            EXPECT_EQ(a[i].stats.max, b[i].stats.max);
            EXPECT_EQ(a[i].stats.scale_min, b[i].stats.scale_min);
            EXPECT_EQ(a[i].stats.scale_max, b[i].stats.scale_max);
            EXPECT_NEAR(a[i].stats.sumsq, b[i].stats.sumsq, 1e-9 * a[i].stats.sumsq);
            EXPECT_NEAR(
                a[i].stats.error_sumsq, b[i].stats.error_sumsq, 1e-9 * a[i].stats.error_sumsq);
        }
    }
}

}  // namespace
}  // namespace lowbit::telemetry
