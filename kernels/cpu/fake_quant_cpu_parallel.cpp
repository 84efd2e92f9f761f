// fake_quant_cpu_parallel: the two fake-quant passes on the kernels' thread pool (parallel.h),
// with the vector loops of fake_quant_simd.h (docs/kernels.md §Fake quantization on the CPU).
// Groups that fit in the cache (rows, row groups) take one parallel region: each task reduces a
// group, derives s and z and maps it while it is still cached. Larger groups (per tensor, long
// rows) are cut into blocks that never straddle a group: one region reduces every block, the
// groups combine their blocks in block order (so the extent is the sequential scan's), a second
// region maps. Bit-identical to the reference for every thread count.
#include "lowbit/kernels/fake_quant.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/fake_quant_layout.h"
#include "common/quant_math.h"
#include "cpu/fake_quant_simd.h"
#include "cpu/parallel_for.h"

namespace lowbit::kernels {
namespace {

// 16 Ki floats = 64 KiB: a group up to this size is reduced and mapped in one visit (it stays in
// L2); larger groups are split in blocks of this size.
constexpr std::int64_t kFakeQuantBlock = std::int64_t{1} << 14;

void map_block(const float* x,
               float* out,
               std::int64_t begin,
               std::int64_t end,
               float s,
               float z,
               QuantBounds b,
               const FakeQuantParams& params) {
    if (params.rounding == Rounding::kNearest) {
        simd_map_nearest(x + begin, out + begin, end - begin, s, z, b, params.symmetric);
        return;
    }
    for (std::int64_t i = begin; i < end; ++i) {
        out[i] = fake_quant_stochastic(
            x[i], s, z, b, params.symmetric, params.seed, static_cast<std::uint64_t>(i));
    }
}

// The reported zero point: the asymmetric full grid reports zp = -z (x^ = (q - zp)*s); symmetric
// z is +0.
float reported_zero_point(const FakeQuantParams& params, float z) {
    return (params.grid == QuantGrid::kFull && !params.symmetric) ? -z : z;
}

struct Outputs {
    float* out;
    float* scales;       // optional
    float* zero_points;  // optional
};

// Groups of at most kFakeQuantBlock values: one region, each task a run of whole groups.
void quantize_small_groups(const float* x,
                           const FakeQuantLayout& layout,
                           const FakeQuantParams& params,
                           QuantBounds bounds,
                           Outputs o,
                           int threads) {
    const int slots = cpu_threads_for_work(threads, layout.n);
    parallel_for_blocks(layout.num_groups, slots, [&](std::int64_t g0, std::int64_t g1, int) {
        if (params.symmetric && params.rounding == Rounding::kNearest) {
            // The common case in one vector call per task; zero points of symmetric groups are +0.
            const std::int64_t begin = g0 * layout.group_len;
            simd_quantize_groups_symmetric(x + begin,
                                           o.out + begin,
                                           g1 - g0,
                                           layout.group_len,
                                           bounds,
                                           params.min_range,
                                           o.scales != nullptr ? o.scales + g0 : nullptr);
            if (o.zero_points != nullptr) {
                std::fill(o.zero_points + g0, o.zero_points + g1, 0.0f);
            }
            return;
        }
        for (std::int64_t g = g0; g < g1; ++g) {
            const std::int64_t begin = g * layout.group_len;
            const BlockExtent e = simd_block_extent(x + begin, layout.group_len, params.symmetric);
            float s = 0.0f;
            float z = 0.0f;
            quant_scale_zero(e.lo, e.hi, bounds, params.min_range, params.symmetric, &s, &z);
            map_block(x, o.out, begin, begin + layout.group_len, s, z, bounds, params);
            if (o.scales != nullptr) {
                o.scales[g] = s;
            }
            if (o.zero_points != nullptr) {
                o.zero_points[g] = reported_zero_point(params, z);
            }
        }
    });
}

// Groups larger than kFakeQuantBlock: reduce blocks, combine per group, then map.
void quantize_large_groups(const float* x,
                           const FakeQuantLayout& layout,
                           const FakeQuantParams& params,
                           QuantBounds bounds,
                           Outputs o,
                           int threads) {
    // Block k covers group k / blocks_per_group, values [chunk * kFakeQuantBlock, ...) of it.
    const std::int64_t blocks_per_group =
        (layout.group_len + kFakeQuantBlock - 1) / kFakeQuantBlock;
    const std::int64_t num_blocks = layout.num_groups * blocks_per_group;
    auto block_range = [&](std::int64_t k, std::int64_t* begin, std::int64_t* end) {
        const std::int64_t grp = k / blocks_per_group;
        const std::int64_t chunk = k % blocks_per_group;
        *begin = grp * layout.group_len + chunk * kFakeQuantBlock;
        *end = std::min((grp + 1) * layout.group_len, *begin + kFakeQuantBlock);
    };
    const int slots = cpu_threads_for_work(threads, layout.n);

    std::vector<BlockExtent> extents(static_cast<std::size_t>(num_blocks));  // (num_blocks,)
    parallel_for_blocks(num_blocks, slots, [&](std::int64_t k0, std::int64_t k1, int) {
        for (std::int64_t k = k0; k < k1; ++k) {
            std::int64_t begin = 0, end = 0;
            block_range(k, &begin, &end);
            if (k % blocks_per_group != 0 && !params.symmetric) {
                // The sequential scan has a seed from an earlier block: leading NaNs of this
                // block are skipped like any NaN after the seed (a block of NaNs only is NaN and
                // ignored by the combination below).
                while (begin + 1 < end && std::isnan(x[begin])) {
                    ++begin;
                }
            }
            extents[static_cast<std::size_t>(k)] =
                simd_block_extent(x + begin, end - begin, params.symmetric);
        }
    });
    // (num_groups,) s and z: few groups here (each holds more than one block), so serially.
    std::vector<float> s(static_cast<std::size_t>(layout.num_groups));
    std::vector<float> z(static_cast<std::size_t>(layout.num_groups));
    for (std::int64_t g = 0; g < layout.num_groups; ++g) {
        BlockExtent e = extents[static_cast<std::size_t>(g * blocks_per_group)];
        for (std::int64_t c = 1; c < blocks_per_group; ++c) {
            const BlockExtent& b = extents[static_cast<std::size_t>(g * blocks_per_group + c)];
            e.lo = b.lo < e.lo ? b.lo : e.lo;
            e.hi = e.hi < b.hi ? b.hi : e.hi;
        }
        const auto gi = static_cast<std::size_t>(g);
        quant_scale_zero(e.lo, e.hi, bounds, params.min_range, params.symmetric, &s[gi], &z[gi]);
        if (o.scales != nullptr) {
            o.scales[g] = s[gi];
        }
        if (o.zero_points != nullptr) {
            o.zero_points[g] = reported_zero_point(params, z[gi]);
        }
    }
    // After every extent is known, so out may alias x.
    parallel_for_blocks(num_blocks, slots, [&](std::int64_t k0, std::int64_t k1, int) {
        for (std::int64_t k = k0; k < k1; ++k) {
            std::int64_t begin = 0, end = 0;
            block_range(k, &begin, &end);
            const auto g = static_cast<std::size_t>(k / blocks_per_group);
            map_block(x, o.out, begin, end, s[g], z[g], bounds, params);
        }
    });
}

}  // namespace

Status fake_quant_cpu_parallel(const float* x,
                               std::int64_t rows,
                               std::int64_t cols,
                               const FakeQuantParams& params,
                               float* out,
                               float* scales,
                               float* zero_points,
                               int num_threads) {
    FakeQuantLayout layout{};
    const Status status = fake_quant_call_layout(params, rows, cols, x, out, &layout);
    if (status != Status::kOk || layout.n == 0) {
        return status;
    }
    const QuantBounds bounds =
        quant_bounds(params.bits, params.symmetric, params.grid, params.is_signed);
    const Outputs outputs{out, scales, zero_points};
    const int threads = cpu_resolve_threads(num_threads);
    if (layout.group_len <= kFakeQuantBlock) {
        quantize_small_groups(x, layout, params, bounds, outputs, threads);
    } else {
        quantize_large_groups(x, layout, params, bounds, outputs, threads);
    }
    return Status::kOk;
}

}  // namespace lowbit::kernels
