// The numbers the product shows for one tensor, derived from a kernels::QuantStats: SQNR, MSE,
// clip and underflow fractions (quantized tensors), σ, absmax/σ and kurtosis (any tensor).
// Torch-free; every value is a plain formula of the recorded sums and counts.
#pragma once

#include "lowbit/kernels/quant_stats.h"

#include <cstdint>

namespace lowbit::telemetry {

/// @brief Derived metrics over the finite values. NaN where undefined (no finite value, σ = 0,
/// or no quantizer for the quantizer metrics).
struct QuantMetrics {
    std::int64_t finite = 0;  ///< n − NaN − Inf
    double mean = 0.0;
    double stddev = 0.0;  ///< population σ = sqrt(Σx²/N − μ²)
    /// 10·log10(Σx² / Σ(x−Q(x))²) = 20·log10(‖x‖/‖x−Q(x)‖); +Inf when Q(x) = x exactly.
    double sqnr_db = 0.0;
    double mse = 0.0;  ///< Σ(x−Q(x))² / N
    double clip_fraction = 0.0;
    double underflow_fraction = 0.0;
    double absmax_over_sigma = 0.0;  ///< max(|min|, |max|) / σ
    /// Pearson kurtosis m4/m2² (3 for a normal distribution), central moments from the raw ones:
    /// m4 = E[x⁴] − 4μE[x³] + 6μ²E[x²] − 3μ⁴. Loses precision when |μ| ≫ σ (not the case for
    /// weights, activations or gradients).
    double kurtosis = 0.0;
};

/// @param quantized whether stats came from a pass with a quantizer.
QuantMetrics quant_metrics(const kernels::QuantStats& stats, bool quantized);

}  // namespace lowbit::telemetry
