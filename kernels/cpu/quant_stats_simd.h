// Private: the vector loop of the statistics pass (docs/kernels.md §Vector loops) for a run of
// finite values of one quantization group: the moments as per-lane double sums, the quantizer
// analysis with fake quantization's operations (so Q(x), codes, clip and underflow counts equal
// the reference's), and each value's histogram bins written out for the caller to count. The
// uniform bin is found in float and checked against the reference's double quotient only where
// the float one lies within its error bound of a bin edge (docs/kernels.md §Statistics pass).
#pragma once

#include <cstdint>

#include "common/quant_math.h"

namespace lowbit::kernels {

struct StatsRunArgs {
    bool quantized = false;  // the second histogram: codes (quantized) or log2 magnitudes
    bool symmetric = true;
    // Quantized: the run is n / group_len whole groups, group g with scale s[g] and offset z[g]
    // (so several short groups, a layer's rows, take one call).
    const float* s = nullptr;
    const float* z = nullptr;
    std::int64_t group_len = 0;
    QuantBounds bounds{};
    float lo = 0.0f;  // finite range of the whole buffer: the uniform histogram
    float hi = 0.0f;
    int uniform_bins = 1;
    int second_none = 0;        // the second bin of a value in none (zero, out of the log2 range)
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

/// Statistics of x[0, n) with round-to-nearest codes, and each value's two bins packed into
/// bins[i]: the uniform bin in the low 16 bits, the second bin (args.second_none: none) in the
/// high 16; every finite x[i] lies within [args.lo, args.hi]. Returns false when a value is not
/// finite or (log2 scheme) subnormal, or n (quantized: args.group_len) is not a multiple of the
/// vector width; the caller's scalar loop then takes the run, and what was written is not used.
bool simd_stats_run(const float* x,
                    std::int64_t n,
                    const StatsRunArgs& args,
                    std::uint32_t* bins,
                    StatsRunResult* result);

}  // namespace lowbit::kernels
