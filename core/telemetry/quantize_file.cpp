// quantize_safetensors_file: fake quantization (core/quant) plus the statistics pass (the
// collector, CPU) per tensor of a safetensors file, and the file total.
#include "lowbit/telemetry/quantize_file.h"

#include "lowbit/config/quant_layers.h"
#include "lowbit/io/safetensors.h"
#include "lowbit/quant/fake_quantize.h"
#include "lowbit/telemetry/telemetry_collector.h"
#include "lowbit/util/exit_codes.h"

#include <cmath>
#include <limits>

namespace lowbit::telemetry {

QuantizedFileReport quantize_safetensors_file(const std::filesystem::path& in,
                                              const std::filesystem::path& out,
                                              const kernels::FakeQuantParams& params,
                                              const std::string& only) {
    const io::SafetensorsFile file = io::load_safetensors(in);
    QuantizedFileReport report;
    io::NamedTensors written;
    TelemetryCollector collector;
    double signal = 0.0, error = 0.0;
    std::int64_t clipped = 0, underflow = 0;
    for (const auto& [name, x] : file.tensors) {
        QuantizedTensorRow row;
        row.name = name;
        row.shape = x.sizes().vec();
        row.dtype = io::safetensors_dtype_name(x.scalar_type());
        if (!x.is_floating_point()) {
            row.action = QuantizedTensorRow::Action::kCopiedNotFloat;
        } else if (x.dim() < 2) {
            row.action = QuantizedTensorRow::Action::kCopied1D;
        } else if (!only.empty() && !config::layer_pattern_matches(only, name)) {
            row.action = QuantizedTensorRow::Action::kCopiedNotSelected;
        } else {
            row.action = QuantizedTensorRow::Action::kQuantized;
        }
        if (row.action != QuantizedTensorRow::Action::kQuantized) {
            written.emplace_back(name, x);
            report.rows.push_back(std::move(row));
            continue;
        }
        const int64_t cols = x.size(-1);
        if (kernels::fake_quant_check_args(params, cols == 0 ? 0 : x.numel() / cols, cols) !=
            kernels::Status::kOk) {
            throw util::BadInput(in.string() + ": tensor '" + name + "' of shape " +
                                 c10::str(x.sizes()) + " cannot be quantized per group of " +
                                 std::to_string(params.group_size) +
                                 " (expected a group size that divides the last dimension)");
        }
        // float64 is quantized in float32 like the other dtypes and written back as float64.
        const torch::Tensor input = x.scalar_type() == torch::kDouble ? x.to(torch::kFloat) : x;
        written.emplace_back(name, quant::fake_quantize(input, params).to(x.scalar_type()));
        collector.begin_step(0);
        collector.add(name, TensorKind::kWeight, input, &params);
        const TelemetryEntry entry = std::move(collector.collect().front());
        row.metrics = entry.metrics();
        row.signal_sumsq = entry.stats.sumsq;
        row.error_sumsq = entry.stats.error_sumsq;
        row.clipped = entry.stats.clipped_low + entry.stats.clipped_high;
        row.underflow = entry.stats.underflow_count;
        signal += row.signal_sumsq;
        error += row.error_sumsq;
        clipped += row.clipped;
        underflow += row.underflow;
        ++report.total.tensors;
        report.total.values += row.metrics.finite;
        report.rows.push_back(std::move(row));
    }
    QuantizedFileTotal& t = report.total;
    const double values = static_cast<double>(t.values);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    t.sqnr_db = error > 0.0 ? 10.0 * std::log10(signal / error)
                            : (signal > 0.0 ? std::numeric_limits<double>::infinity() : nan);
    t.mse = t.values > 0 ? error / values : nan;
    t.clip_fraction = t.values > 0 ? static_cast<double>(clipped) / values : nan;
    t.underflow_fraction = t.values > 0 ? static_cast<double>(underflow) / values : nan;
    io::save_safetensors(out, written, file.metadata);
    return report;
}

}  // namespace lowbit::telemetry
