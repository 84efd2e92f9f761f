// The store rows of one telemetry entry: quant_stats (derived metrics) and two histograms.
#include "lowbit/kernels/fake_quant.h"
#include "lowbit/telemetry/telemetry_collector.h"

#include <cmath>

namespace lowbit::telemetry {
namespace {

store::HistogramRecord base_histogram(const TelemetryEntry& e,
                                      std::int64_t run_id,
                                      std::int64_t step) {
    store::HistogramRecord h;
    h.run_id = run_id;
    h.step = step;
    h.layer = e.layer;
    h.tensor_kind = to_string(e.kind);
    h.n = e.stats.n;
    h.min = e.stats.min;
    h.max = e.stats.max;
    h.sum = e.stats.sum;
    h.sumsq = e.stats.sumsq;
    h.nan_count = e.stats.nan_count;
    h.inf_count = e.stats.inf_count;
    h.zero_count = e.stats.zero_count;
    return h;
}

}  // namespace

store::QuantStatRecord quant_stat_record(const TelemetryEntry& entry,
                                         std::int64_t run_id,
                                         std::int64_t step) {
    const QuantMetrics m = entry.metrics();
    store::QuantStatRecord r;
    r.run_id = run_id;
    r.step = step;
    r.layer = entry.layer;
    r.tensor_kind = to_string(entry.kind);
    r.sqnr_db = m.sqnr_db;
    r.mse = m.mse;
    r.clip_fraction = m.clip_fraction;
    r.underflow_fraction = m.underflow_fraction;
    r.scale_min = entry.params ? entry.stats.scale_min : std::nan("");
    r.scale_max = entry.params ? entry.stats.scale_max : std::nan("");
    r.absmax_over_sigma = m.absmax_over_sigma;
    r.kurtosis = m.kurtosis;
    return r;
}

std::vector<store::HistogramRecord> histogram_records(const TelemetryEntry& entry,
                                                      const kernels::QuantStatsSpec& spec,
                                                      std::int64_t run_id,
                                                      std::int64_t step) {
    std::vector<store::HistogramRecord> out;
    store::HistogramRecord uniform = base_histogram(entry, run_id, step);
    uniform.bin_scheme = "uniform";
    uniform.bin_lo = entry.stats.min;
    uniform.bin_hi = entry.stats.max;
    uniform.counts = entry.uniform_counts;
    out.push_back(std::move(uniform));

    store::HistogramRecord second = base_histogram(entry, run_id, step);
    second.counts = entry.second_counts;
    if (entry.params) {
        const kernels::FakeQuantParams& p = *entry.params;
        // One bin per code of the quantizer's grid (the format table's code range).
        const kernels::CodeRange codes = kernels::code_range(p.grid, p.bits, p.symmetric);
        second.bin_scheme = "grid";
        second.bin_lo = static_cast<double>(codes.qn) - 0.5;
        second.bin_hi = static_cast<double>(codes.qp) + 0.5;
        second.clipped_low = entry.stats.clipped_low;
        second.clipped_high = entry.stats.clipped_high;
    } else {
        second.bin_scheme = "log2";
        second.bin_lo = spec.log2_min_exponent;
        second.bin_hi = spec.log2_max_exponent + 1;
        second.clipped_low = entry.stats.second_low;
        second.clipped_high = entry.stats.second_high;
    }
    out.push_back(std::move(second));
    return out;
}

}  // namespace lowbit::telemetry
