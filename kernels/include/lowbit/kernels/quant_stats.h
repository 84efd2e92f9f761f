// Quantization statistics of one row-major (rows, cols) float32 buffer in one pass after the
// fake-quant scale reduction: moments (for σ and kurtosis), NaN/Inf/zero counts, the error
// ‖x − Q(x)‖² (SQNR, MSE), clipped and underflowed counts, the scale range, a uniform histogram
// over [min, max] and a second histogram: one bin per integer code (quantized) or log2 magnitude.
// Implementations: quant_stats_ref (scalar), quant_stats_cpu_parallel (thread pool) and
// launch_quant_stats (CUDA, results left in a caller-chosen device buffer); counts are identical.
#pragma once

#include "lowbit/kernels/fake_quant.h"
#include "lowbit/kernels/status.h"

#include <cstddef>
#include <cstdint>

#if LOWBIT_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace lowbit::kernels {

/// @brief What to histogram. The uniform histogram always spans the finite [min, max] of the
/// buffer; the second one is the code grid of the quantizer (bins = 2^bits) or, without a
/// quantizer, log2-magnitude bins over [log2_min_exponent, log2_max_exponent].
struct QuantStatsSpec {
    int uniform_bins = 64;  ///< 1..kMaxHistogramBins
    /// Log2 range (unquantized tensors): 2^-64 covers Adam's v and tiny gradients, 2^15 covers
    /// activation outliers; values outside are counted in second_low / second_high.
    int log2_min_exponent = -64;
    int log2_max_exponent = 15;
};

/// @brief Result of one statistics pass. "Finite" sums and counts skip NaN and ±Inf.
struct QuantStats {
    std::int64_t n = 0;  ///< all values, NaN and Inf included
    std::int64_t nan_count = 0;
    std::int64_t inf_count = 0;
    std::int64_t zero_count = 0;  ///< +0 and -0
    float min = 0.0f;             ///< finite minimum; NaN when there is no finite value
    float max = 0.0f;             ///< finite maximum; NaN when there is no finite value
    double sum = 0.0;             ///< Σx over finite x (double accumulation)
    double sumsq = 0.0;           ///< Σx² = ‖x‖²
    double sum_cube = 0.0;        ///< Σx³
    double sum_quad = 0.0;        ///< Σx⁴

    // Quantizer statistics over finite x; all zero when no quantizer was given.
    double error_sumsq = 0.0;  ///< Σ(x − Q(x))², Q = fake_quant with the same parameters
    /// Finite x clipped by the grid: the pre-clamp code t = x/s − z (full grid: x/s + zp),
    /// rounded half to even, lies below Qn / above Qp (so the clamp changes the code). Rounding
    /// t first keeps absmax scaling at 0 clipped (docs/quantized-pretraining.md §Symmetric and
    /// asymmetric scales) although x/s may exceed Qp by an ulp.
    std::int64_t clipped_low = 0;
    std::int64_t clipped_high = 0;
    std::int64_t underflow_count = 0;  ///< x ≠ 0 but Q(x) == 0
    float scale_min = 0.0f;            ///< smallest / largest per-group scale s
    float scale_max = 0.0f;

    /// Second histogram, log2 scheme only: finite non-zero |x| below 2^log2_min_exponent or at
    /// least 2^(log2_max_exponent + 1). Always 0 for the grid scheme (every code has a bin).
    std::int64_t second_low = 0;
    std::int64_t second_high = 0;
};

/// @brief Bins of the second histogram: 2^bits with a quantizer (bin = code − Qn, i.e. the
/// lowest code level first), else log2_max_exponent − log2_min_exponent + 1.
int quant_stats_second_bins(const QuantStatsSpec& spec, const FakeQuantParams* params);

/// @brief kOk, or why the request is rejected: the fake_quant_check_args rules when params is
/// given, uniform_bins outside 1..kMaxHistogramBins, or a bad log2 range (kBadArgument).
Status quant_stats_check_args(const QuantStatsSpec& spec,
                              const FakeQuantParams* params,
                              std::int64_t rows,
                              std::int64_t cols);

/// @brief Scalar reference: scales by docs/quantized-pretraining.md §Symmetric and asymmetric
/// scales written out literally (NaN ignored by the range reduction, as the fake-quant paths do),
/// then one loop in index order.
/// @param x (rows, cols) row-major host buffer.
/// @param params the quantizer, or null for statistics and the log2 histogram only.
/// @param uniform_counts (spec.uniform_bins,) host buffer, overwritten.
/// @param second_counts (quant_stats_second_bins(spec, params),) host buffer, overwritten.
Status quant_stats_ref(const float* x,
                       std::int64_t rows,
                       std::int64_t cols,
                       const FakeQuantParams* params,
                       const QuantStatsSpec& spec,
                       QuantStats* stats,
                       std::int64_t* uniform_counts,
                       std::int64_t* second_counts);

/// @brief Multi-threaded CPU version: two passes over x (scale and range reduction, then the
/// statistics). Counts, min, max and scales equal the reference exactly; the double sums are
/// accumulated per fixed chunk and combined in chunk order, so they do not depend on num_threads
/// and differ from the reference by rounding only. num_threads 0: the backend's (parallel.h).
Status quant_stats_cpu_parallel(const float* x,
                                std::int64_t rows,
                                std::int64_t cols,
                                const FakeQuantParams* params,
                                const QuantStatsSpec& spec,
                                QuantStats* stats,
                                std::int64_t* uniform_counts,
                                std::int64_t* second_counts,
                                int num_threads = 0);

/// Alignment (bytes) of a device result block; quant_stats_result_bytes is a multiple of it.
inline constexpr std::size_t kQuantStatsResultAlign = 16;

/// @brief Bytes of one result block (an accumulator followed by both histograms' counts).
std::size_t quant_stats_result_bytes(const QuantStatsSpec& spec, const FakeQuantParams* params);

/// @brief Decodes a result block copied to the host (the layout launch_quant_stats writes).
/// Counts equal the reference exactly; sums differ by rounding only.
Status quant_stats_decode(const void* result_host,
                          const FakeQuantParams* params,
                          const QuantStatsSpec& spec,
                          QuantStats* stats,
                          std::int64_t* uniform_counts,
                          std::int64_t* second_counts);

#if LOWBIT_HAVE_CUDA
/// @brief CUDA version: x is a device buffer; the results go into `result_device`, a device block
/// of quant_stats_result_bytes(spec, params) bytes aligned to kQuantStatsResultAlign (e.g. at an
/// offset of a larger per-step buffer, so a whole logging step needs one device-to-host copy).
/// Stream-ordered and asynchronous: no host sync, no host copy. Decode with quant_stats_decode.
Status launch_quant_stats(const float* x_device,
                          std::int64_t rows,
                          std::int64_t cols,
                          const FakeQuantParams* params,
                          const QuantStatsSpec& spec,
                          void* result_device,
                          cudaStream_t stream);
#endif

}  // namespace lowbit::kernels
