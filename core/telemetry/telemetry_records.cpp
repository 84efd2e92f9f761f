// The store rows of one telemetry entry: its tensor_stats row and its two histograms.
#include "lowbit/kernels/fake_quant.h"
#include "lowbit/telemetry/telemetry_collector.h"

#include <cmath>

#include <nlohmann/json.hpp>

namespace lowbit::telemetry {
namespace {

store::HistogramRecord histogram_of(const TelemetryEntry& e,
                                    std::int64_t run_id,
                                    std::int64_t step) {
    store::HistogramRecord h;
    h.run_id = run_id;
    h.step = step;
    h.layer = e.layer;
    h.tensor_kind = to_string(e.kind);
    return h;
}

}  // namespace

std::string quantizer_json(const kernels::FakeQuantParams& p) {
    const nlohmann::json json = {
        {"bits", p.bits},
        {"granularity",
         kernels::is_valid(p.granularity) ? kernels::granularity_traits(p.granularity).name : "?"},
        {"group_size", p.group_size},
        {"symmetric", p.symmetric},
        {"signed", p.is_signed},
        {"grid", kernels::quant_grid_name(p.grid)},
        {"rounding", kernels::rounding_name(p.rounding)},
        {"min_range", p.min_range}};
    return json.dump();
}

store::TensorStatsRecord tensor_stats_record(const TelemetryEntry& entry,
                                             std::int64_t run_id,
                                             std::int64_t step) {
    const QuantMetrics m = entry.metrics();
    const kernels::QuantStats& s = entry.stats;
    store::TensorStatsRecord r;
    r.run_id = run_id;
    r.step = step;
    r.layer = entry.layer;
    r.tensor_kind = to_string(entry.kind);
    if (entry.params) {
        const kernels::FakeQuantParams& p = *entry.params;
        // The format table's code range (the grid histogram has one bin per code).
        const kernels::CodeRange codes =
            kernels::code_range(p.grid, p.bits, p.symmetric, p.is_signed);
        r.quantizer = quantizer_json(p);
        r.qn = codes.qn;
        r.qp = codes.qp;
        r.clipped_low = s.clipped_low;
        r.clipped_high = s.clipped_high;
    }
    r.n = s.n;
    r.min = s.min;
    r.max = s.max;
    r.sum = s.sum;
    r.sumsq = s.sumsq;
    r.nan_count = s.nan_count;
    r.inf_count = s.inf_count;
    r.zero_count = s.zero_count;
    r.sqnr_db = m.sqnr_db;
    r.mse = m.mse;
    r.clip_fraction = m.clip_fraction;
    r.underflow_fraction = m.underflow_fraction;
    r.scale_min = entry.params ? s.scale_min : std::nan("");
    r.scale_max = entry.params ? s.scale_max : std::nan("");
    r.absmax_over_sigma = m.absmax_over_sigma;
    r.kurtosis = m.kurtosis;
    return r;
}

std::vector<store::HistogramRecord> histogram_records(const TelemetryEntry& entry,
                                                      const kernels::QuantStatsSpec& spec,
                                                      std::int64_t run_id,
                                                      std::int64_t step) {
    std::vector<store::HistogramRecord> out;
    store::HistogramRecord uniform = histogram_of(entry, run_id, step);
    uniform.bin_scheme = "uniform";
    uniform.bin_lo = entry.stats.min;
    uniform.bin_hi = entry.stats.max;
    uniform.counts = entry.uniform_counts;
    out.push_back(std::move(uniform));

    store::HistogramRecord second = histogram_of(entry, run_id, step);
    second.counts = entry.second_counts;
    if (entry.params) {
        const kernels::FakeQuantParams& p = *entry.params;
        // One bin per code of the quantizer's grid (the format table's code range).
        const kernels::CodeRange codes =
            kernels::code_range(p.grid, p.bits, p.symmetric, p.is_signed);
        second.bin_scheme = "grid";
        second.bin_lo = static_cast<double>(codes.qn) - 0.5;
        second.bin_hi = static_cast<double>(codes.qp) + 0.5;
    } else {
        second.bin_scheme = "log2";
        second.bin_lo = spec.log2_min_exponent;
        second.bin_hi = spec.log2_max_exponent + 1;
        second.below = entry.stats.second_low;
        second.above = entry.stats.second_high;
    }
    out.push_back(std::move(second));
    return out;
}

}  // namespace lowbit::telemetry
