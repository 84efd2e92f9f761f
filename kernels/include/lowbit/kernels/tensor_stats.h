// Tensor statistics + histogram in one pass over a float32 buffer, for live telemetry: counts,
// finite min/max/sum/sumsq, NaN/Inf/zero counts and a histogram (uniform or log2-magnitude bins).
// Three implementations with identical counts: tensor_stats_ref (scalar), tensor_stats_cpu_parallel
// (thread pool over fixed chunks) and launch_tensor_stats (CUDA, shared-memory histograms).
#pragma once

#include "lowbit/kernels/status.h"

#include <cstdint>

#if LOWBIT_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace lowbit::kernels {

enum class HistogramScheme {
    /// `bins` equal bins over [lo, hi]: bin = floor((x - lo) * bins / (hi - lo)), evaluated in
    /// double in exactly this order; x == hi goes into the last bin; x < lo / x > hi are counted
    /// as clipped_low / clipped_high. Zeros are binned like any other value.
    kUniform = 0,
    /// One bin per binary exponent e = floor(log2|x|) for e in [min_exponent, max_exponent]
    /// (bins = max_exponent - min_exponent + 1). Zeros are not binned (see zero_count); |x| below
    /// 2^min_exponent -> clipped_low, |x| >= 2^(max_exponent + 1) -> clipped_high. Subnormals
    /// have their true exponent (down to -149).
    kLog2Magnitude = 1,
};

/// @brief Which histogram to collect. Build with histogram_uniform() / histogram_log2().
struct HistogramSpec {
    HistogramScheme scheme = HistogramScheme::kUniform;
    int bins = 0;  ///< uniform only; 0 = statistics only, no histogram
    double lo = 0.0;
    double hi = 1.0;
    int min_exponent = -20;  ///< log2 only
    int max_exponent = 20;   ///< log2 only
};

/// Largest histogram accepted; keeps the per-thread / per-block copies small.
inline constexpr int kMaxHistogramBins = 1 << 16;

HistogramSpec histogram_uniform(int bins, double lo, double hi);

HistogramSpec histogram_log2(int min_exponent, int max_exponent);

/// @brief Number of count slots the caller must provide for `spec`.
int histogram_bin_count(const HistogramSpec& spec);

/// @brief Result of one statistics pass. min/max/sum/sumsq are over finite values only.
struct TensorStats {
    std::int64_t n = 0;  ///< all values, NaN and Inf included
    std::int64_t nan_count = 0;
    std::int64_t inf_count = 0;   ///< +Inf and -Inf
    std::int64_t zero_count = 0;  ///< +0 and -0
    float min = 0.0f;             ///< NaN when there is no finite value
    float max = 0.0f;             ///< NaN when there is no finite value
    double sum = 0.0;
    double sumsq = 0.0;
    std::int64_t clipped_low = 0;   ///< finite values below the histogram range
    std::int64_t clipped_high = 0;  ///< finite values above the histogram range
};

/// @brief Scalar reference: one sequential loop, sums accumulated in double in index order.
/// @param x (n,) host buffer; may be null when n == 0.
/// @param counts (histogram_bin_count(spec),) host buffer, overwritten; may be null when 0 bins.
Status tensor_stats_ref(const float* x,
                        std::int64_t n,
                        const HistogramSpec& spec,
                        TensorStats* stats,
                        std::int64_t* counts);

/// @brief Multi-threaded CPU version. Counts, min and max equal the reference exactly; sum and
/// sumsq are summed per fixed-size chunk and combined in chunk order, so they do not depend on
/// num_threads, but differ from the reference's single running sum by rounding only.
/// @param num_threads 0 = the parallel backend's thread count (parallel.h).
Status tensor_stats_cpu_parallel(const float* x,
                                 std::int64_t n,
                                 const HistogramSpec& spec,
                                 TensorStats* stats,
                                 std::int64_t* counts,
                                 int num_threads = 0);

#if LOWBIT_HAVE_CUDA
/// @brief CUDA version: x is a device buffer; stats and counts are host pointers. Allocates a
/// small stream-ordered workspace, copies one result block to the host and synchronises `stream`
/// (a single host sync per call). Counts equal the reference exactly; sums differ by rounding.
Status launch_tensor_stats(const float* x_device,
                           std::int64_t n,
                           const HistogramSpec& spec,
                           TensorStats* stats,
                           std::int64_t* counts,
                           cudaStream_t stream);
#endif

}  // namespace lowbit::kernels
