// Private: the vector loop of the statistics pass (docs/kernels.md §Vector loops) for a run of
// finite values of one quantization group: the moments as per-lane double sums, the quantizer
// analysis with fake quantization's operations (so Q(x), codes, clip and underflow counts equal
// the reference's), and each value's histogram bins written out for the caller to count.
#pragma once

#include <cstdint>

#include "common/quant_math.h"

namespace lowbit::kernels {

struct StatsRunArgs {
    bool quantized = false;  // the second histogram: codes (quantized) or log2 magnitudes
    bool symmetric = true;
    float s = 1.0f;  // the group's scale and offset (quantized)
    float z = 0.0f;
    QuantBounds bounds{};
    double lo = 0.0;  // finite range of the whole buffer: the uniform histogram
    double hi = 0.0;
    int uniform_bins = 1;
    int log2_min_exponent = 0;  // the log2 histogram (not quantized)
    int log2_max_exponent = 0;
};

/// The statistics pass's double sums.
struct StatsSums {
    double sum = 0.0;
    double sumsq = 0.0;
    double sum_cube = 0.0;
    double sum_quad = 0.0;
    double error_sumsq = 0.0;  // Σ(x − Q(x))²

    void add(const StatsSums& o) {
        sum += o.sum;
        sumsq += o.sumsq;
        sum_cube += o.sum_cube;
        sum_quad += o.sum_quad;
        error_sumsq += o.error_sumsq;
    }
};

struct StatsRunResult {
    StatsSums sums;
    std::int64_t zero = 0;
    std::int64_t clip_low = 0;
    std::int64_t clip_high = 0;
    std::int64_t underflow = 0;
    std::int64_t second_low = 0;  // log2 magnitudes below / above the histogram's range
    std::int64_t second_high = 0;
};

/// Statistics of x[0, n) with round-to-nearest codes: uniform_bin[i] and second_bin[i] (-1: none)
/// per value. Returns false, having written nothing, when a value is not finite or (log2 scheme)
/// subnormal: the caller's scalar loop takes such runs.
bool simd_stats_run(const float* x,
                    std::int64_t n,
                    const StatsRunArgs& args,
                    std::int32_t* uniform_bin,
                    std::int32_t* second_bin,
                    StatsRunResult* result);

}  // namespace lowbit::kernels
