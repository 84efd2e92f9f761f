// quant_stats_cpu_parallel: the statistics pass on the kernels' thread pool. Pass 1 reduces, per
// block that never straddles a quantization group, the group range (as fake_quant_cpu_parallel
// does) and the finite min/max; groups get s and z from quant_math.h. Pass 2 walks fixed chunks of
// kStatsChunk values (sums per chunk, combined in chunk order) with per-thread histograms, so every
// output is independent of the thread count and the counts equal the reference exactly.
#include "lowbit/kernels/quant_stats.h"
#include "lowbit/kernels/tensor_stats.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "common/fake_quant_layout.h"
#include "common/quant_stats_math.h"
#include "cpu/fake_quant_simd.h"
#include "cpu/parallel_for.h"
#include "cpu/quant_stats_simd.h"

namespace lowbit::kernels {
namespace {

// 16 Ki floats (64 KiB) per range block, as fake_quant_cpu_parallel. 4 Ki floats (16 KiB) per
// statistics chunk: small enough that the small tensors of a telemetry step (a 128×128 weight,
// a 12×64×128 activation) split into several chunks and so keep every thread busy
// (docs/kernels.md §Statistics pass).
constexpr std::int64_t kRangeBlock = std::int64_t{1} << 14;
constexpr std::int64_t kStatsChunk = std::int64_t{1} << 12;

struct BlockRange {
    float lo = 0.0f;  // min over non-NaN values (Inf included): the quantizer's range
    float hi = 0.0f;
    bool any = false;
    float finite_min = 0.0f;  // the histogram's range
    float finite_max = 0.0f;
    bool any_finite = false;
};

// `known`: simd_block_extent of the block when the caller has it already (one call for many
// short blocks).
BlockRange block_range(const float* x,
                       std::int64_t begin,
                       std::int64_t end,
                       const BlockExtent* known = nullptr) {
    BlockRange r;
    if (begin < end && !std::isnan(x[begin])) {
        // The vector scan (seeded with the first value, NaN skipped after it, the first zero's
        // sign kept) is this loop's exactly; finite extremes mean no Inf, so the finite range is
        // the same. An Inf or a leading NaN takes the loop below.
        const BlockExtent e =
            known != nullptr ? *known : simd_block_extent(x + begin, end - begin, false);
        if (std::isfinite(e.lo) && std::isfinite(e.hi)) {
            r.lo = r.finite_min = e.lo;
            r.hi = r.finite_max = e.hi;
            r.any = r.any_finite = true;
            return r;
        }
    }
    for (std::int64_t i = begin; i < end; ++i) {
        const float v = x[i];
        if (std::isnan(v)) {
            continue;
        }
        r.lo = (!r.any || v < r.lo) ? v : r.lo;
        r.hi = (!r.any || v > r.hi) ? v : r.hi;
        r.any = true;
        if (std::isfinite(v)) {
            r.finite_min = (!r.any_finite || v < r.finite_min) ? v : r.finite_min;
            r.finite_max = (!r.any_finite || v > r.finite_max) ? v : r.finite_max;
            r.any_finite = true;
        }
    }
    return r;
}

// Combines b into a in block order (first-seen wins ties, as the reference's min/max).
void merge_range(BlockRange& a, const BlockRange& b) {
    if (b.any) {
        a.lo = (!a.any || b.lo < a.lo) ? b.lo : a.lo;
        a.hi = (!a.any || b.hi > a.hi) ? b.hi : a.hi;
        a.any = true;
    }
    if (b.any_finite) {
        a.finite_min = (!a.any_finite || b.finite_min < a.finite_min) ? b.finite_min : a.finite_min;
        a.finite_max = (!a.any_finite || b.finite_max > a.finite_max) ? b.finite_max : a.finite_max;
        a.any_finite = true;
    }
}

using ChunkSums = StatsSums;  // one chunk's, combined in chunk order

// The joint table of both bins (quant_stats_simd.h, docs/kernels.md §Statistics pass): one
// increment per value in the vector loop instead of two, paid for by a drain of the whole table
// at the end of a task. Taken where its copies stay in the L2 cache (kMaxJointCells cells each)
// and the task has at least as many values as a copy has cells: with fewer, the drain costs
// about as much as the increments it saves.
constexpr std::int64_t kMaxJointCells = std::int64_t{1} << 15;

// This thread's joint tables: kJointCopies copies of `cells` cells and a spare row of `width`
// for the drain. Every cell is 0 between tasks (simd_stats_drain_joint leaves them so), so a
// task starts without clearing. A task has them to itself: it runs on one thread from start to
// end and starts no other pass.
std::uint32_t* joint_scratch(std::int64_t cells, std::int64_t width) {
    thread_local std::vector<std::uint32_t> scratch;
    const auto size = static_cast<std::size_t>(kJointCopies * cells + width);
    if (scratch.size() < size) {
        scratch.assign(size, 0u);
    }
    return scratch.data();
}

// Per-thread integer tallies after the two histograms. Integers add exactly in any order.
enum TallySlot : int {
    kNan = 0,
    kInf,
    kZero,
    kClipLow,
    kClipHigh,
    kUnderflow,
    kSecondLow,
    kSecondHigh,
    kTallySlots
};

struct StatsContext {
    const float* x;
    const FakeQuantParams* params;
    const QuantStatsSpec* spec;
    QuantBounds bounds;
    std::int64_t group_len;
    const float* s;  // (num_groups,)
    const float* z;  // (num_groups,) offsets: x^ = (q + z)*s
    double lo;       // finite range of x
    double hi;
    int uniform_bins;
    int second_bins;
};

// Statistics of x[begin, end), all in group `grp`. The quantizer options are template
// parameters so the per-element loop carries no option branches; the arithmetic is the shared
// quant_stats_element either way.
template <bool kQuantized, bool kSymmetric, bool kStochastic>
void stats_segment_scalar(const StatsContext& c,
                          std::int64_t begin,
                          std::int64_t end,
                          std::int64_t grp,
                          ChunkSums& sums,
                          std::int64_t* uniform,
                          std::int64_t* second,
                          std::int64_t* tally) {
    const float s = kQuantized ? c.s[grp] : 1.0f;
    const float z = kQuantized ? c.z[grp] : 0.0f;
    const std::uint64_t seed = kQuantized ? c.params->seed : 0;
    ChunkSums local = sums;
    for (std::int64_t i = begin; i < end; ++i) {
        const float v = c.x[i];
        if (!std::isfinite(v)) {  // rare: one test for both NaN and Inf on the common path
            ++tally[std::isnan(v) ? kNan : kInf];
            continue;
        }
        tally[kZero] += v == 0.0f ? 1 : 0;
        const double vd = v;
        const double v2 = vd * vd;
        local.sum += vd;
        local.sumsq += v2;
        local.sum_cube += v2 * vd;
        local.sum_quad += v2 * v2;
        ++uniform[quant_stats_uniform_bin(v, c.lo, c.hi, c.uniform_bins)];
        if constexpr (!kQuantized) {
            if (v != 0.0f) {
                const int e = stats_log2_exponent(v);
                if (e < c.spec->log2_min_exponent) {
                    ++tally[kSecondLow];
                } else if (e > c.spec->log2_max_exponent) {
                    ++tally[kSecondHigh];
                } else {
                    ++second[e - c.spec->log2_min_exponent];
                }
            }
        } else {
            const QuantElement e = quant_stats_element(
                v, s, z, c.bounds, kSymmetric, kStochastic, seed, static_cast<std::uint64_t>(i));
            tally[kClipLow] += e.clip < 0 ? 1 : 0;
            tally[kClipHigh] += e.clip > 0 ? 1 : 0;
            const double err = vd - static_cast<double>(e.xq);
            local.error_sumsq += err * err;
            tally[kUnderflow] += (v != 0.0f && e.xq == 0.0f) ? 1 : 0;
            if (!std::isnan(e.q)) {
                ++second[static_cast<std::int64_t>(e.q - c.bounds.qn)];
            }
        }
    }
    sums = local;
}

// Values per call of the vector loop (short groups are batched up to it, long ones cut into runs
// of it); a run's length is a multiple of kVectorMultiple, itself a multiple of every vector
// width (in floats).
constexpr std::int64_t kVectorRun = 1024;
constexpr std::int64_t kVectorMultiple = 16;

// The vector loop's arguments for context c, its groups' scales and offsets from group `grp` on.
StatsRunArgs run_args(const StatsContext& c, bool quantized, bool symmetric, std::int64_t grp) {
    StatsRunArgs args;
    args.quantized = quantized;
    args.symmetric = symmetric;
    args.s = quantized ? c.s + grp : nullptr;
    args.z = quantized ? c.z + grp : nullptr;
    args.bounds = c.bounds;
    args.lo = static_cast<float>(c.lo);  // exact: the buffer's finite min and max
    args.hi = static_cast<float>(c.hi);
    args.uniform_bins = c.uniform_bins;
    args.second_none = c.second_bins;
    args.log2_min_exponent = c.spec->log2_min_exponent;
    args.log2_max_exponent = c.spec->log2_max_exponent;
    return args;
}

// Adds a vector run's sums and tallies to the chunk's and the thread's (its counts are in the
// histograms already).
void add_run(const StatsRunResult& r, ChunkSums& sums, std::int64_t* tally) {
    sums.add(r.sums);
    tally[kZero] += r.zero;
    tally[kClipLow] += r.clip_low;
    tally[kClipHigh] += r.clip_high;
    tally[kUnderflow] += r.underflow;
    tally[kSecondLow] += r.second_low;
    tally[kSecondHigh] += r.second_high;
}

// Statistics of x[begin, end), all in group `grp`: runs through the vector loop
// (quant_stats_simd.h), from the first vector it does not take (a non-finite or, for the log2
// histogram, subnormal value) to the run's end and the last few values through the scalar one,
// into copy 0. Counts are exact either way; the double sums of a vector run are summed per
// lane, so they differ from the reference by rounding only.
template <bool kQuantized, bool kSymmetric>
void stats_group_piece(const StatsContext& c,
                       std::int64_t begin,
                       std::int64_t end,
                       std::int64_t grp,
                       ChunkSums& sums,
                       const StatsHistograms& h,
                       std::int64_t* tally) {
    StatsRunArgs args = run_args(c, kQuantized, kSymmetric, grp);
    std::int64_t i = begin;
    // Runs of up to kVectorRun values, a multiple of kVectorMultiple long (a row of a small
    // layer is one short run); the last few values go through the scalar loop.
    for (std::int64_t len = 0;
         (len = std::min(kVectorRun, (end - i) / kVectorMultiple * kVectorMultiple)) > 0;
         i += len) {
        args.group_len = len;  // one group
        StatsRunResult r;
        const std::int64_t done = simd_stats_run(c.x + i, len, args, h, &r);
        add_run(r, sums, tally);
        if (done < len) {
            stats_segment_scalar<kQuantized, kSymmetric, false>(
                c, i + done, i + len, grp, sums, h.uniform, h.second, tally);
        }
    }
    stats_segment_scalar<kQuantized, kSymmetric, false>(
        c, i, end, grp, sums, h.uniform, h.second, tally);
}

// Statistics of `groups` whole groups from x[begin] (group `grp` first), shorter than a vector
// run together: one call of the vector loop, so its set-up and reductions are paid once for them
// all. From the first vector it does not take, the rest of that group goes through the scalar
// loop and the later groups one by one.
template <bool kQuantized, bool kSymmetric>
void stats_short_groups(const StatsContext& c,
                        std::int64_t begin,
                        std::int64_t groups,
                        std::int64_t grp,
                        ChunkSums& sums,
                        const StatsHistograms& h,
                        std::int64_t* tally) {
    const std::int64_t len = groups * c.group_len;
    StatsRunArgs args = run_args(c, kQuantized, kSymmetric, grp);
    args.group_len = c.group_len;
    StatsRunResult r;
    const std::int64_t done = simd_stats_run(c.x + begin, len, args, h, &r);
    add_run(r, sums, tally);
    if (done == len) {
        return;
    }
    const std::int64_t stopped = done / c.group_len;  // the group holding the first value left
    stats_segment_scalar<kQuantized, kSymmetric, false>(c,
                                                        begin + done,
                                                        begin + (stopped + 1) * c.group_len,
                                                        grp + stopped,
                                                        sums,
                                                        h.uniform,
                                                        h.second,
                                                        tally);
    for (std::int64_t g = stopped + 1; g < groups; ++g) {
        const std::int64_t first = begin + g * c.group_len;
        stats_group_piece<kQuantized, kSymmetric>(
            c, first, first + c.group_len, grp + g, sums, h, tally);
    }
}

// Statistics of x[begin, end), a stretch of one chunk over any groups, group by group; runs of
// two or more whole short quantizer groups (a layer's rows, groups of 128) go through
// stats_short_groups. Stochastic rounding takes the scalar loop (its draws are per element).
template <bool kQuantized, bool kSymmetric, bool kStochastic>
void stats_segment(const StatsContext& c,
                   std::int64_t begin,
                   std::int64_t end,
                   ChunkSums& sums,
                   const StatsHistograms& h,
                   std::int64_t* tally) {
    const std::int64_t group_len = c.group_len;
    const bool short_groups =
        kQuantized && !kStochastic && group_len % kVectorMultiple == 0 && group_len <= kVectorRun;
    for (std::int64_t i = begin; i < end;) {
        const std::int64_t grp = i / group_len;
        const std::int64_t whole = short_groups && i == grp * group_len
                                       ? std::min(kVectorRun / group_len, (end - i) / group_len)
                                       : 0;
        if (whole >= 2) {
            stats_short_groups<kQuantized, kSymmetric>(c, i, whole, grp, sums, h, tally);
            i += whole * group_len;
            continue;
        }
        const std::int64_t group_end = std::min(end, (grp + 1) * group_len);
        if constexpr (kStochastic) {
            stats_segment_scalar<kQuantized, kSymmetric, kStochastic>(
                c, i, group_end, grp, sums, h.uniform, h.second, tally);
        } else {
            stats_group_piece<kQuantized, kSymmetric>(c, i, group_end, grp, sums, h, tally);
        }
        i = group_end;
    }
}

using SegmentFn = void (*)(const StatsContext&,
                           std::int64_t,
                           std::int64_t,
                           ChunkSums&,
                           const StatsHistograms&,
                           std::int64_t*);

SegmentFn pick_segment(const FakeQuantParams* params) {
    if (params == nullptr) {
        return stats_segment<false, false, false>;
    }
    const bool stochastic = params->rounding == Rounding::kStochastic;
    if (params->symmetric) {
        return stochastic ? stats_segment<true, true, true> : stats_segment<true, true, false>;
    }
    return stochastic ? stats_segment<true, false, true> : stats_segment<true, false, false>;
}

}  // namespace

Status quant_stats_cpu_parallel(const float* x,
                                std::int64_t rows,
                                std::int64_t cols,
                                const FakeQuantParams* params,
                                const QuantStatsSpec& spec,
                                QuantStats* stats,
                                std::int64_t* uniform_counts,
                                std::int64_t* second_counts,
                                int num_threads) {
    const Status status = quant_stats_check_args(spec, params, rows, cols);
    if (status != Status::kOk) {
        return status;
    }
    const std::int64_t n = rows * cols;
    if (stats == nullptr || uniform_counts == nullptr || second_counts == nullptr ||
        (x == nullptr && n > 0)) {
        return Status::kBadArgument;
    }
    const int uniform_bins = spec.uniform_bins;
    const int second_bins = quant_stats_second_bins(spec, params);
    const int threads = cpu_resolve_threads(num_threads);
    FakeQuantLayout layout{n, n > 0 ? 1 : 0, n};
    if (params != nullptr) {
        layout = fake_quant_layout(*params, rows, cols);
    }

    // Pass 1: per block, its range; per group, s and z (quantized); and the finite range of the
    // whole buffer. Block k covers group k / blocks_per_group.
    const std::int64_t blocks_per_group =
        layout.num_groups == 0 ? 0 : (layout.group_len + kRangeBlock - 1) / kRangeBlock;
    const std::int64_t num_blocks = layout.num_groups * blocks_per_group;
    const QuantBounds bounds =
        params != nullptr
            ? quant_bounds(params->bits, params->symmetric, params->grid, params->is_signed)
            : QuantBounds{0.0f, 0.0f, 1.0f};
    std::vector<float> s(params != nullptr ? static_cast<std::size_t>(layout.num_groups) : 0);
    std::vector<float> z(s.size());
    // s[g] and z[g] of group g from its range r.
    const auto set_scale = [&](std::int64_t g, const BlockRange& r) {
        if (params == nullptr) {
            return;
        }
        const float lo = r.any ? r.lo : 0.0f;
        const float hi = r.any ? r.hi : 0.0f;
        const float absmax = std::max(std::fabs(lo), std::fabs(hi));
        quant_scale_zero(params->symmetric ? 0.0f : lo,
                         params->symmetric ? absmax : hi,
                         bounds,
                         params->min_range,
                         params->symmetric,
                         &s[static_cast<std::size_t>(g)],
                         &z[static_cast<std::size_t>(g)]);
    };
    BlockRange whole;
    if (blocks_per_group == 1) {
        // Each block is one whole group (a layer's rows): a task finds its groups' extents in
        // batches of one vector call, sets their scales and merges their ranges in group order;
        // the tasks' ranges are merged in task order after the pass, which is group order
        // (merge_range keeps the first of equal extremes, so merging is associative).
        std::vector<BlockRange> task_ranges(static_cast<std::size_t>(threads));
        parallel_for_blocks(num_blocks, threads, [&](std::int64_t k0, std::int64_t k1, int t) {
            constexpr std::int64_t kBatch = 256;
            BlockExtent extents[kBatch];
            BlockRange task;
            for (std::int64_t k = k0; k < k1; k += kBatch) {
                const std::int64_t m = std::min(kBatch, k1 - k);
                simd_block_extents(x + k * layout.group_len, m, layout.group_len, extents);
                for (std::int64_t j = 0; j < m; ++j) {
                    const std::int64_t begin = (k + j) * layout.group_len;
                    const BlockRange r =
                        block_range(x, begin, begin + layout.group_len, &extents[j]);
                    set_scale(k + j, r);
                    merge_range(task, r);
                }
            }
            task_ranges[static_cast<std::size_t>(t)] = task;
        });
        for (const BlockRange& r : task_ranges) {
            merge_range(whole, r);
        }
    } else {
        // Long groups: their blocks' ranges in parallel, each group's merged after the pass.
        std::vector<BlockRange> ranges(static_cast<std::size_t>(num_blocks));
        parallel_for_blocks(num_blocks, threads, [&](std::int64_t k0, std::int64_t k1, int) {
            for (std::int64_t k = k0; k < k1; ++k) {
                const std::int64_t grp = k / blocks_per_group;
                const std::int64_t begin =
                    grp * layout.group_len + (k % blocks_per_group) * kRangeBlock;
                const std::int64_t end =
                    std::min((grp + 1) * layout.group_len, begin + kRangeBlock);
                ranges[static_cast<std::size_t>(k)] = block_range(x, begin, end);
            }
        });
        for (std::int64_t g = 0; g < layout.num_groups; ++g) {
            BlockRange r;
            for (std::int64_t c = 0; c < blocks_per_group; ++c) {
                merge_range(r, ranges[static_cast<std::size_t>(g * blocks_per_group + c)]);
            }
            set_scale(g, r);
            merge_range(whole, r);
        }
    }

    // Pass 2: statistics per chunk. Per thread: kStatsHistogramCopies rows of (uniform_bins +
    // second_bins + 1,) counts, then kTallySlots tallies.
    const StatsContext context{x,
                               params,
                               &spec,
                               bounds,
                               layout.group_len,
                               s.data(),
                               z.data(),
                               whole.finite_min,
                               whole.finite_max,
                               uniform_bins,
                               second_bins};
    const std::int64_t num_chunks = (n + kStatsChunk - 1) / kStatsChunk;
    const std::int64_t copy_stride = uniform_bins + second_bins + 1;
    const std::int64_t thread_stride = kStatsHistogramCopies * copy_stride + kTallySlots;
    std::vector<ChunkSums> sums(static_cast<std::size_t>(num_chunks));
    const SegmentFn segment = pick_segment(params);
    std::vector<std::int64_t> thread_counts(static_cast<std::size_t>(threads * thread_stride), 0);
    // log2 of the joint table's row width: the uniform bins rounded up to a power of two.
    const int shift = std::bit_width(static_cast<unsigned>(uniform_bins - 1));
    const std::int64_t joint_cells = std::int64_t{second_bins + 1} << shift;
    // Below 2^32 values no cell of a task's table can overflow.
    const bool joint_fits = joint_cells <= kMaxJointCells && n < (std::int64_t{1} << 32);
    parallel_for_blocks(num_chunks, threads, [&](std::int64_t c0, std::int64_t c1, int t) {
        std::int64_t* row = thread_counts.data() + t * thread_stride;
        StatsHistograms h{row, row + uniform_bins, copy_stride};
        if (joint_fits && std::min(n, c1 * kStatsChunk) - c0 * kStatsChunk >= joint_cells) {
            h.joint = joint_scratch(joint_cells, std::int64_t{1} << shift);
            h.joint_shift = shift;
            h.joint_stride = joint_cells;
        }
        std::int64_t* tally = row + kStatsHistogramCopies * copy_stride;
        for (std::int64_t c = c0; c < c1; ++c) {
            ChunkSums& chunk = sums[static_cast<std::size_t>(c)];
            const std::int64_t end = std::min(n, (c + 1) * kStatsChunk);
            segment(context, c * kStatsChunk, end, chunk, h, tally);
        }
        if (h.joint != nullptr) {
            simd_stats_drain_joint(h, uniform_bins);
        }
    });

    QuantStats out;
    out.n = n;
    std::fill(uniform_counts, uniform_counts + uniform_bins, 0);
    std::fill(second_counts, second_counts + second_bins, 0);
    for (int t = 0; t < threads; ++t) {
        const std::int64_t* row = thread_counts.data() + t * thread_stride;
        for (int k = 0; k < kStatsHistogramCopies; ++k) {
            const std::int64_t* copy = row + k * copy_stride;
            for (int b = 0; b < uniform_bins; ++b) {
                uniform_counts[b] += copy[b];
            }
            for (int b = 0; b < second_bins; ++b) {
                second_counts[b] += copy[uniform_bins + b];
            }
        }
        const std::int64_t* tally = row + kStatsHistogramCopies * copy_stride;
        out.nan_count += tally[kNan];
        out.inf_count += tally[kInf];
        out.zero_count += tally[kZero];
        out.clipped_low += tally[kClipLow];
        out.clipped_high += tally[kClipHigh];
        out.underflow_count += tally[kUnderflow];
        out.second_low += tally[kSecondLow];
        out.second_high += tally[kSecondHigh];
    }
    for (const ChunkSums& c : sums) {  // chunk order: independent of the thread count
        out.sum += c.sum;
        out.sumsq += c.sumsq;
        out.sum_cube += c.sum_cube;
        out.sum_quad += c.sum_quad;
        out.error_sumsq += c.error_sumsq;
    }
    out.min = whole.any_finite ? whole.finite_min : std::numeric_limits<float>::quiet_NaN();
    out.max = whole.any_finite ? whole.finite_max : std::numeric_limits<float>::quiet_NaN();
    if (!s.empty()) {
        out.scale_min = *std::min_element(s.begin(), s.end());
        out.scale_max = *std::max_element(s.begin(), s.end());
    }
    *stats = out;
    return Status::kOk;
}

}  // namespace lowbit::kernels
