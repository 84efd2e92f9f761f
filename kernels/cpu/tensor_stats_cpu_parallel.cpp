// tensor_stats_cpu_parallel: the statistics + histogram pass on the kernels' thread pool. The
// buffer is cut into fixed chunks of kStatsChunk values; each chunk keeps its own sum/sumsq/min/max
// and each task its own histogram. Chunks are combined in chunk order, so every output is
// independent of the thread count, and counts/min/max equal the reference exactly.
#include "lowbit/kernels/tensor_stats.h"

#include <cmath>
#include <limits>
#include <vector>

#include "common/stats_math.h"
#include "common/tensor_stats_args.h"
#include "cpu/parallel_for.h"

namespace lowbit::kernels {
namespace {

// 32 Ki floats = 128 KiB: fits in L2 with room for the histogram, and is large enough that the
// per-chunk bookkeeping is negligible.
constexpr std::int64_t kStatsChunk = std::int64_t{1} << 15;

struct ChunkPartial {
    double sum = 0.0;
    double sumsq = 0.0;
    float min = 0.0f;
    float max = 0.0f;
    bool any_finite = false;
};

// Per-thread integer tallies: histogram (bins) followed by clipped_low, clipped_high, nan, inf,
// zero. Integers add exactly, so their combination order does not matter.
enum TallySlot : int { kClipLow = 0, kClipHigh, kNan, kInf, kZero, kTallySlots };

void stats_chunk(const float* x,
                 std::int64_t begin,
                 std::int64_t end,
                 const HistogramSpec& spec,
                 int bins,
                 ChunkPartial* part,
                 std::int64_t* hist,
                 std::int64_t* tally) {
    ChunkPartial p;
    for (std::int64_t i = begin; i < end; ++i) {
        const float v = x[i];
        if (std::isnan(v)) {
            ++tally[kNan];
            continue;
        }
        if (std::isinf(v)) {
            ++tally[kInf];
            continue;
        }
        tally[kZero] += v == 0.0f ? 1 : 0;
        if (!p.any_finite) {
            p.min = v;
            p.max = v;
            p.any_finite = true;
        } else {
            p.min = v < p.min ? v : p.min;
            p.max = v > p.max ? v : p.max;
        }
        const double vd = static_cast<double>(v);
        p.sum += vd;
        p.sumsq += vd * vd;
        if (bins == 0) {
            continue;
        }
        if (spec.scheme == HistogramScheme::kUniform) {
            const int b = stats_uniform_bin(v, spec.lo, spec.hi, bins);
            if (b < 0) {
                ++tally[kClipLow];
            } else if (b >= bins) {
                ++tally[kClipHigh];
            } else {
                ++hist[b];
            }
        } else if (v != 0.0f) {
            const int e = stats_log2_exponent(v);
            if (e < spec.min_exponent) {
                ++tally[kClipLow];
            } else if (e > spec.max_exponent) {
                ++tally[kClipHigh];
            } else {
                ++hist[e - spec.min_exponent];
            }
        }
    }
    *part = p;
}

}  // namespace

Status tensor_stats_cpu_parallel(const float* x,
                                 std::int64_t n,
                                 const HistogramSpec& spec,
                                 TensorStats* stats,
                                 std::int64_t* counts,
                                 int num_threads) {
    const Status status = tensor_stats_check_args(x, n, spec, stats, counts);
    if (status != Status::kOk) {
        return status;
    }
    const int bins = histogram_bin_count(spec);
    const std::int64_t num_chunks = (n + kStatsChunk - 1) / kStatsChunk;
    const int threads = cpu_resolve_threads(num_threads);
    const std::int64_t stride = bins + kTallySlots;  // per-thread row: (bins + kTallySlots,)

    std::vector<ChunkPartial> parts(static_cast<std::size_t>(num_chunks));
    std::vector<std::int64_t> thread_counts(static_cast<std::size_t>(threads * stride), 0);
    parallel_for_blocks(num_chunks, threads, [&](std::int64_t c0, std::int64_t c1, int t) {
        std::int64_t* hist = thread_counts.data() + t * stride;
        std::int64_t* tally = hist + bins;
        for (std::int64_t c = c0; c < c1; ++c) {
            const std::int64_t begin = c * kStatsChunk;
            const std::int64_t end = std::min(n, begin + kStatsChunk);
            stats_chunk(
                x, begin, end, spec, bins, &parts[static_cast<std::size_t>(c)], hist, tally);
        }
    });

    TensorStats s;
    s.n = n;
    for (int b = 0; b < bins; ++b) {
        counts[b] = 0;
    }
    for (int t = 0; t < threads; ++t) {
        const std::int64_t* hist = thread_counts.data() + t * stride;
        for (int b = 0; b < bins; ++b) {
            counts[b] += hist[b];
        }
        const std::int64_t* tally = hist + bins;
        s.clipped_low += tally[kClipLow];
        s.clipped_high += tally[kClipHigh];
        s.nan_count += tally[kNan];
        s.inf_count += tally[kInf];
        s.zero_count += tally[kZero];
    }
    bool any_finite = false;
    for (const ChunkPartial& p : parts) {  // chunk order: deterministic sums, first-seen min/max
        if (!p.any_finite) {
            continue;
        }
        if (!any_finite) {
            s.min = p.min;
            s.max = p.max;
            any_finite = true;
        } else {
            s.min = p.min < s.min ? p.min : s.min;
            s.max = p.max > s.max ? p.max : s.max;
        }
        s.sum += p.sum;
        s.sumsq += p.sumsq;
    }
    if (!any_finite) {
        s.min = std::numeric_limits<float>::quiet_NaN();
        s.max = std::numeric_limits<float>::quiet_NaN();
    }
    *stats = s;
    return Status::kOk;
}

}  // namespace lowbit::kernels
