// TelemetryCollector on CPU tensors: entries equal the scalar reference on the same values, and
// flush() writes one tensor_stats row and two histograms per entry that a RunReader reads back,
// with histogram counts summing to n and the quantizer recorded with its code range.
#include "lowbit/telemetry/telemetry_collector.h"

#include "lowbit/kernels/quant_stats.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "temp_dir.h"

namespace lowbit::telemetry {
namespace {

kernels::FakeQuantParams params_of(int bits, kernels::Granularity granularity) {
    kernels::FakeQuantParams p;
    p.bits = bits;
    p.granularity = granularity;
    return p;
}

struct Added {
    std::string layer;
    TensorKind kind;
    torch::Tensor x;
    std::optional<kernels::FakeQuantParams> params;
};

std::vector<Added> sample_tensors() {
    torch::manual_seed(11);
    std::vector<Added> added;
    added.push_back({"blocks.0.fc1",
                     TensorKind::kWeight,
                     torch::randn({32, 48}),
                     params_of(8, kernels::Granularity::kPerChannel)});
    added.push_back({"blocks.0.fc1",
                     TensorKind::kActivation,
                     (torch::randn({2, 5, 48}) * 3).to(torch::kBFloat16),
                     params_of(8, kernels::Granularity::kPerToken)});
    added.push_back({"blocks.0.fc1", TensorKind::kGradOutput, torch::randn({10, 32}) * 1e-6, {}});
    kernels::FakeQuantParams v = params_of(4, kernels::Granularity::kPerTensor);
    v.min_range = 1e-8f;
    added.push_back({"blocks.0.fc1", TensorKind::kOptimV, torch::rand({32, 48}).pow(4) * 1e-4, v});
    added.push_back({"lm_head", TensorKind::kWeight, torch::tensor(0.5f), {}});  // 0-d
    return added;
}

TEST(TelemetryCollector, EntriesEqualTheReference) {
    TelemetryCollector collector;
    collector.begin_step(7);
    const std::vector<Added> added = sample_tensors();
    for (const Added& a : added) {
        collector.add(a.layer, a.kind, a.x, a.params ? &*a.params : nullptr);
    }
    EXPECT_EQ(collector.pending(), added.size());
    const std::vector<TelemetryEntry> entries = collector.collect();
    EXPECT_EQ(collector.pending(), 0u);
    ASSERT_EQ(entries.size(), added.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        SCOPED_TRACE(added[i].layer + " " + to_string(added[i].kind));
        const TelemetryEntry& e = entries[i];
        EXPECT_EQ(e.layer, added[i].layer);
        EXPECT_EQ(e.kind, added[i].kind);
        EXPECT_EQ(e.shape, added[i].x.sizes().vec());
        const torch::Tensor f = added[i].x.to(torch::kFloat).contiguous();
        const std::int64_t cols = f.dim() == 0 ? 1 : f.size(-1);
        const kernels::FakeQuantParams* p = added[i].params ? &*added[i].params : nullptr;
        const kernels::QuantStatsSpec spec;
        kernels::QuantStats ref;
        std::vector<std::int64_t> uniform(static_cast<std::size_t>(spec.uniform_bins));
        std::vector<std::int64_t> second(
            static_cast<std::size_t>(kernels::quant_stats_second_bins(spec, p)));
        ASSERT_EQ(kernels::quant_stats_ref(f.data_ptr<float>(),
                                           f.numel() / cols,
                                           cols,
                                           p,
                                           spec,
                                           &ref,
                                           uniform.data(),
                                           second.data()),
                  kernels::Status::kOk);
        EXPECT_EQ(e.uniform_counts, uniform);
        EXPECT_EQ(e.second_counts, second);
        EXPECT_EQ(e.stats.n, ref.n);
        EXPECT_EQ(e.stats.underflow_count, ref.underflow_count);
        EXPECT_EQ(e.stats.scale_max, ref.scale_max);
        EXPECT_NEAR(e.stats.error_sumsq, ref.error_sumsq, 1e-9 * ref.error_sumsq + 1e-300);
    }
}

TEST(TelemetryCollector, FlushWritesRecordsThatReadBack) {
    lowbit::testing::TempDir dir("telemetry_flush");
    store::Workspace workspace = store::Workspace::open(dir.path());
    store::RunWriter writer(workspace);
    store::RunRecord run;
    run.name = "telemetry";
    run.kind = "train";
    const std::int64_t run_id = writer.create_run(run);

    TelemetryCollector collector;
    const std::vector<Added> added = sample_tensors();
    std::vector<TelemetryEntry> expected;
    for (const std::int64_t step : {10, 20}) {
        collector.begin_step(step);
        for (const Added& a : added) {
            collector.add(a.layer, a.kind, a.x, a.params ? &*a.params : nullptr);
        }
        EXPECT_EQ(collector.flush(writer, run_id), added.size());
    }
    for (const Added& a : added) {
        collector.add(a.layer, a.kind, a.x, a.params ? &*a.params : nullptr);
    }
    expected = collector.collect();

    const store::RunReader reader(workspace);
    const std::vector<store::TensorStatsRecord> stats = reader.tensor_stats(run_id);
    ASSERT_EQ(stats.size(), 2 * added.size());
    for (std::size_t i = 0; i < added.size(); ++i) {
        SCOPED_TRACE(added[i].layer + " " + to_string(added[i].kind));
        const QuantMetrics m = expected[i].metrics();
        std::size_t found = 0;
        std::int64_t n_recorded = -1;
        for (const store::TensorStatsRecord& r : stats) {
            if (r.layer != added[i].layer || r.tensor_kind != to_string(added[i].kind)) {
                continue;
            }
            ++found;
            EXPECT_TRUE(r.step == 10 || r.step == 20);
            EXPECT_EQ(r.n, added[i].x.numel());
            EXPECT_EQ(r.nan_count, expected[i].stats.nan_count);
            EXPECT_EQ(r.zero_count, expected[i].stats.zero_count);
            n_recorded = r.n;
            if (added[i].params) {
                const kernels::FakeQuantParams& p = *added[i].params;
                // Reference grid: codes -2^(b-1) .. 2^(b-1) - 1 (docs/quantized-pretraining.md).
                EXPECT_EQ(r.qn, -(1 << (p.bits - 1)));
                EXPECT_EQ(r.qp, (1 << (p.bits - 1)) - 1);
                ASSERT_TRUE(r.quantizer.has_value());
                EXPECT_NE(r.quantizer->find("\"bits\":" + std::to_string(p.bits)),
                          std::string::npos)
                    << *r.quantizer;
                EXPECT_EQ(r.clipped_low, expected[i].stats.clipped_low);
                EXPECT_NEAR(r.sqnr_db, m.sqnr_db, 1e-9);
                EXPECT_DOUBLE_EQ(r.mse, m.mse);
                EXPECT_DOUBLE_EQ(r.underflow_fraction, m.underflow_fraction);
                EXPECT_DOUBLE_EQ(r.scale_max, expected[i].stats.scale_max);
            } else {
                EXPECT_TRUE(std::isnan(r.sqnr_db)) << "NULL reads back as NaN";
                EXPECT_FALSE(r.quantizer.has_value());
                EXPECT_FALSE(r.qn.has_value());
            }
            if (added[i].x.dim() > 0) {
                EXPECT_DOUBLE_EQ(r.kurtosis, m.kurtosis);
                EXPECT_DOUBLE_EQ(r.absmax_over_sigma, m.absmax_over_sigma);
            }
        }
        EXPECT_EQ(found, 2u);

        for (const std::int64_t step : {10, 20}) {
            const std::vector<store::HistogramRecord> hists =
                reader.histograms(run_id, added[i].layer, to_string(added[i].kind), step);
            ASSERT_EQ(hists.size(), 2u);
            const std::int64_t n = added[i].x.numel();
            ASSERT_EQ(n_recorded, n);
            for (const store::HistogramRecord& h : hists) {
                const std::int64_t total =
                    std::accumulate(h.counts.begin(), h.counts.end(), std::int64_t{0});
                if (h.bin_scheme == "uniform") {
                    EXPECT_EQ(total, n) << "finite data: every value in a bin";
                    EXPECT_EQ(h.bin_lo, expected[i].stats.min);
                    EXPECT_EQ(h.bin_hi, expected[i].stats.max);
                    EXPECT_EQ(h.counts, expected[i].uniform_counts);
                } else if (h.bin_scheme == "grid") {
                    ASSERT_TRUE(added[i].params.has_value());
                    EXPECT_EQ(total, n);
                    EXPECT_EQ(h.counts.size(), std::size_t{1} << added[i].params->bits);
                    EXPECT_EQ(h.bin_lo, -std::ldexp(1.0, added[i].params->bits - 1) - 0.5);
                } else {
                    EXPECT_EQ(h.bin_scheme, "log2");
                    EXPECT_EQ(total + expected[i].stats.zero_count + h.below + h.above, n);
                }
            }
        }
    }
}

TEST(TelemetryCollector, BadInputNamesLayerAndShape) {
    TelemetryCollector collector;
    kernels::FakeQuantParams p = params_of(8, kernels::Granularity::kPerGroup);
    p.group_size = 32;
    try {
        collector.add("blocks.2.fc2", TensorKind::kWeight, torch::randn({4, 48}), &p);
        ADD_FAILURE() << "no error";
    } catch (const c10::Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("blocks.2.fc2 (weight, shape [4, 48])"), std::string::npos) << what;
        EXPECT_NE(what.find("group size must divide"), std::string::npos) << what;
    }
    EXPECT_THROW(
        collector.add("x", TensorKind::kWeight, torch::ones({2, 2}, torch::kInt32), nullptr),
        c10::Error);
    EXPECT_EQ(collector.pending(), 0u);
}

}  // namespace
}  // namespace lowbit::telemetry
