// `lowbit quant`: fake-quantizes the floating tensors (>= 2 dims) of a safetensors file with one
// quantizer and reports per-tensor SQNR, MSE, clip and underflow fractions from the statistics
// pass. Tensor names, dtypes, order and the file metadata are kept; other tensors are copied.
#pragma once

#include "lowbit/kernels/fake_quant.h"
#include "lowbit/telemetry/quant_metrics.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lowbit::telemetry {

/// @brief One tensor of the file. `action` says what happened to it.
struct QuantizedTensorRow {
    std::string name;
    std::vector<std::int64_t> shape;
    std::string dtype;  ///< safetensors name, e.g. "F32"
    enum class Action { kQuantized, kCopied1D, kCopiedNotFloat, kCopiedNotSelected } action;
    QuantMetrics metrics;  ///< kQuantized only: Q computed in float32 (before any bf16/f16 cast)
    double signal_sumsq = 0.0;  ///< Σx² (finite), for the file total
    double error_sumsq = 0.0;   ///< Σ(x − Q(x))²
    std::int64_t clipped = 0;
    std::int64_t underflow = 0;
};

/// @brief The file total over the quantized tensors (SQNR of the concatenation).
struct QuantizedFileTotal {
    std::int64_t tensors = 0;
    std::int64_t values = 0;  ///< finite values
    double sqnr_db = 0.0;
    double mse = 0.0;
    double clip_fraction = 0.0;
    double underflow_fraction = 0.0;
};

struct QuantizedFileReport {
    std::vector<QuantizedTensorRow> rows;  ///< in file order
    QuantizedFileTotal total;
};

/// Reads `in`, fake-quantizes every floating tensor with >= 2 dims whose name matches `only`
/// (a glob, '*' any run of characters; empty = all), writes `out` atomically. Throws
/// io::FormatError for a missing or corrupt file and util::BadInput for a quantizer that does not
/// fit a tensor (e.g. a group size that does not divide its last dimension), naming the tensor.
QuantizedFileReport quantize_safetensors_file(const std::filesystem::path& in,
                                              const std::filesystem::path& out,
                                              const kernels::FakeQuantParams& params,
                                              const std::string& only = {});

}  // namespace lowbit::telemetry
