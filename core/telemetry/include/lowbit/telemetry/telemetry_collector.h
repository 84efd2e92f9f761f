// TelemetryCollector: quantization statistics and histograms of many tensors for one logging
// step. add() runs the statistics pass at once (CPU tensors: std::threads; CUDA tensors: kernels
// queued on the current stream, results left in one device buffer), collect() brings every CUDA
// result back with ONE device-to-host copy, and flush() writes the store records.
//
// Wiring it into a training loop is a loop over the quantized linears:
//   collector.begin_step(step);
//   for (auto& layer : quantized_linears) {
//       collector.add(layer.path(), TensorKind::kWeight, layer.weight(), &weight_params);
//       collector.add(layer.path(), TensorKind::kActivation, captured_input, &activation_params);
//       ...
//   }
//   collector.flush(writer, run_id);
// Not thread-safe; call from the training thread. CUDA tensors of one step must live on one
// device, and add() must see the stream that produced them as the current stream.
#pragma once

#include "lowbit/kernels/fake_quant.h"
#include "lowbit/kernels/quant_stats.h"
#include "lowbit/store/records.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/telemetry/quant_metrics.h"
#include "lowbit/telemetry/tensor_kind.h"

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::telemetry {

/// @brief The statistics of one tensor of one step.
struct TelemetryEntry {
    std::string layer;  ///< e.g. "blocks.3.attn.qkv"
    TensorKind kind = TensorKind::kWeight;
    std::vector<std::int64_t> shape;
    std::optional<kernels::FakeQuantParams> params;  ///< the quantizer, when quantized
    kernels::QuantStats stats;
    std::vector<std::int64_t> uniform_counts;  ///< (spec.uniform_bins,) over [min, max]
    std::vector<std::int64_t> second_counts;   ///< grid (2^bits codes) or log2 bins

    QuantMetrics metrics() const {
        return quant_metrics(stats, params.has_value());
    }
};

class TelemetryCollector {
public:
    explicit TelemetryCollector(kernels::QuantStatsSpec spec = {});
    ~TelemetryCollector();
    TelemetryCollector(const TelemetryCollector&) = delete;
    TelemetryCollector& operator=(const TelemetryCollector&) = delete;

    /// Starts a logging step; drops entries not yet collected.
    void begin_step(std::int64_t step);

    std::int64_t step() const {
        return step_;
    }

    /// Queues the statistics of x: any shape (viewed as (numel / last dim, last dim), the last
    /// axis being the one per-row scales reduce over), float32, bfloat16 or float16, on the CPU
    /// or a CUDA device. params: the quantizer applied to x (null: statistics and log2 bins
    /// only). x may be modified or freed after the call. Throws c10::Error naming the layer,
    /// kind and shape on a bad tensor or quantizer.
    void add(const std::string& layer,
             TensorKind kind,
             const torch::Tensor& x,
             const kernels::FakeQuantParams* params = nullptr);

    /// Records for `layer` and `kind` the statistics of pending entry `entry` (an index below
    /// pending()), without a statistics pass: for a tensor that another layer also reads, with
    /// the same quantizer (q, k and v of one attention read the same input).
    void add_same_as(std::size_t entry, const std::string& layer, TensorKind kind);

    /// Statistics passes run since begin_step (add() runs one; add_same_as() none).
    std::size_t passes() const {
        return passes_;
    }

    /// Entries added since begin_step (or the last collect).
    std::size_t pending() const {
        return entries_.size();
    }

    /// Completes and returns the pending entries in add() order (one device-to-host copy when
    /// any tensor was on a CUDA device; none otherwise) and clears them.
    std::vector<TelemetryEntry> collect();

    /// collect(), then per entry one TensorStatsRecord and two HistogramRecords ("uniform", and
    /// "grid" or "log2") for `run_id` at step(), committed with writer.flush_soon() (now, or
    /// within the writer's age limit). Returns the number of entries written.
    std::size_t flush(store::RunWriter& writer, std::int64_t run_id);

private:
    struct DeviceResults;

    kernels::QuantStatsSpec spec_;
    std::int64_t step_ = 0;
    std::size_t passes_ = 0;
    std::vector<TelemetryEntry> entries_;
    // For entries whose tensor was on a CUDA device: byte offset of its result block.
    std::vector<std::optional<std::size_t>> device_offsets_;
    std::unique_ptr<DeviceResults> device_;
};

/// @brief The store rows of one entry (docs/workspace-schema.md, "Telemetry"): its
/// TensorStatsRecord and two HistogramRecords, "uniform" over [min, max] in value units and
/// "grid" over [Qn − 0.5, Qp + 0.5] in code units (bin k is code Qn + k) or, without a quantizer,
/// "log2" over [min_exponent, max_exponent + 1] in exponent units (bin k holds 2^(min+k) <= |x| <
/// 2^(min+k+1); zeros only in zero_count; magnitudes outside in below / above).
store::TensorStatsRecord tensor_stats_record(const TelemetryEntry& entry,
                                             std::int64_t run_id,
                                             std::int64_t step);
std::vector<store::HistogramRecord> histogram_records(const TelemetryEntry& entry,
                                                      const kernels::QuantStatsSpec& spec,
                                                      std::int64_t run_id,
                                                      std::int64_t step);

/// @brief A quantizer as the store records it: JSON with the recipe's names.
std::string quantizer_json(const kernels::FakeQuantParams& params);

}  // namespace lowbit::telemetry
