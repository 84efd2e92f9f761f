// Private: the vector loop of the statistics pass (docs/kernels.md §Vector loops) for a run of
// values of one or more quantization groups: the moments as per-lane double sums, the quantizer
// analysis with fake quantization's operations (so Q(x), codes, clip and underflow counts equal
// the reference's), and each value's two histogram bins counted. The uniform bin is found in
// float and checked against the reference's double quotient only where the float one lies within
// its error bound of a bin edge (docs/kernels.md §Statistics pass).
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

/// Where a thread counts its values' bins: kStatsHistogramCopies copies of both histograms, copy
/// c's uniform bins at uniform + c * stride, its second bins (and, at second_none, the slot for
/// values in no second bin) at second + c * stride. Neighbouring values go to different copies,
/// so that neighbours falling into the same bin (most do: the mass sits in a few bins) do not
/// wait on each other's increment; the caller adds the copies up.
///
/// With `joint` set, the vector loop instead counts each value once, in the cell
/// (second bin << joint_shift) | uniform bin of a table of both bins together (kJointCopies
/// copies, copy c at joint + c * joint_stride; the uniform bins must be fewer than
/// 2^joint_shift): one increment per value instead of two (docs/kernels.md §Statistics pass).
/// simd_stats_drain_joint adds the cells into the histograms afterwards. The scalar loop counts
/// into the histograms either way.
inline constexpr int kStatsHistogramCopies = 4;
inline constexpr int kJointCopies = 4;

struct StatsHistograms {
    std::int64_t* uniform;
    std::int64_t* second;
    std::int64_t stride;
    std::uint32_t* joint = nullptr;  // null: count into the histograms themselves
    int joint_shift = 0;
    std::int64_t joint_stride = 0;  // cells per copy: (second bins + 1) << joint_shift
};

/// Statistics of x[0, done) with round-to-nearest codes, each value counted into h (its uniform
/// bin, and its second bin or the slot for none), where every finite x[i] lies within
/// [args.lo, args.hi]. The counting runs inside the vector loop, so that its memory operations
/// overlap the arithmetic. Returns done: n, or the start of the first vector holding a value
/// the loop does not take (not finite; for the log2 histogram also subnormal), which the caller's
/// scalar loop then takes from; 0 when n (quantized: args.group_len) is not a multiple of the
/// vector width. result holds the sums and tallies of x[0, done).
std::int64_t simd_stats_run(const float* x,
                            std::int64_t n,
                            const StatsRunArgs& args,
                            const StatsHistograms& h,
                            StatsRunResult* result);

/// Adds the joint table of h (every copy) into copy 0 of its histograms: cell (r, b) to second
/// bin r (r = second_none: the slot for none) and uniform bin b, for every row r of the table
/// and b < uniform_bins, and leaves every cell 0 again. Each cell holds less than 2^32.
void simd_stats_drain_joint(const StatsHistograms& h, int uniform_bins);

}  // namespace lowbit::kernels
