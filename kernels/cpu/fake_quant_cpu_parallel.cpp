// fake_quant_cpu_parallel: the two fake-quant passes on std::threads. Work is cut into blocks
// that never straddle a group (at most kFakeQuantBlock values each); pass 1 reduces min/max (or
// absmax) per block, combines them per group (exact, so order-free) and derives s and z; pass 2
// maps every value with a branch-free loop the compiler can vectorise. Bit-identical to the ref.
#include "lowbit/kernels/fake_quant.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/fake_quant_layout.h"
#include "common/quant_math.h"
#include "cpu/parallel_for.h"

namespace lowbit::kernels {
namespace {

// 16 Ki floats = 64 KiB per block: small enough to balance 2..64 threads on a per-tensor
// reduction, large enough that per-block bookkeeping is invisible.
constexpr std::int64_t kFakeQuantBlock = std::int64_t{1} << 14;

struct BlockExtent {
    float lo;  // min (asymmetric) or 0 (symmetric)
    float hi;  // max (asymmetric) or absmax (symmetric)
};

BlockExtent block_extent(const float* x, std::int64_t begin, std::int64_t end, bool symmetric) {
    if (symmetric) {
        float absmax = 0.0f;
        for (std::int64_t i = begin; i < end; ++i) {
            const float a = std::fabs(x[i]);
            absmax = absmax < a ? a : absmax;  // std::max semantics (NaN ignored), as the ref
        }
        return {0.0f, absmax};
    }
    float lo = x[begin];
    float hi = x[begin];
    for (std::int64_t i = begin; i < end; ++i) {
        lo = x[i] < lo ? x[i] : lo;
        hi = hi < x[i] ? x[i] : hi;
    }
    return {lo, hi};
}

void map_block_nearest(const float* x,
                       float* out,
                       std::int64_t begin,
                       std::int64_t end,
                       float s,
                       float z,
                       QuantBounds b,
                       bool symmetric) {
    // Two loops so each is a straight-line body with loop-invariant s, z (vectorisable).
    if (symmetric) {
        for (std::int64_t i = begin; i < end; ++i) {
            out[i] = fake_quant_nearest(x[i], s, 0.0f, b, true);
        }
    } else {
        for (std::int64_t i = begin; i < end; ++i) {
            out[i] = fake_quant_nearest(x[i], s, z, b, false);
        }
    }
}

void map_block_stochastic(const float* x,
                          float* out,
                          std::int64_t begin,
                          std::int64_t end,
                          float s,
                          float z,
                          QuantBounds b,
                          bool symmetric,
                          std::uint64_t seed) {
    for (std::int64_t i = begin; i < end; ++i) {
        out[i] =
            fake_quant_stochastic(x[i], s, z, b, symmetric, seed, static_cast<std::uint64_t>(i));
    }
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
    const Status status = fake_quant_check_args(params, rows, cols);
    if (status != Status::kOk) {
        return status;
    }
    const FakeQuantLayout layout = fake_quant_layout(params, rows, cols);
    if (layout.n == 0) {
        return Status::kOk;
    }
    if (x == nullptr || out == nullptr) {
        return Status::kBadArgument;
    }
    const bool symmetric = params.symmetric;
    const bool full_grid = params.grid == QuantGrid::kFull;
    const QuantBounds bounds = quant_bounds(params.bits, symmetric, params.grid, params.is_signed);
    const int threads = cpu_resolve_threads(num_threads);

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

    // Pass 1a: (num_blocks,) extents.
    std::vector<BlockExtent> extents(static_cast<std::size_t>(num_blocks));
    parallel_for_blocks(num_blocks, threads, [&](std::int64_t k0, std::int64_t k1, int) {
        for (std::int64_t k = k0; k < k1; ++k) {
            std::int64_t begin = 0, end = 0;
            block_range(k, &begin, &end);
            extents[static_cast<std::size_t>(k)] = block_extent(x, begin, end, symmetric);
        }
    });
    // Pass 1b: (num_groups,) s and z from the combined extents.
    std::vector<float> s(static_cast<std::size_t>(layout.num_groups));
    std::vector<float> z(static_cast<std::size_t>(layout.num_groups));
    parallel_for_blocks(layout.num_groups, threads, [&](std::int64_t g0, std::int64_t g1, int) {
        for (std::int64_t g = g0; g < g1; ++g) {
            BlockExtent e = extents[static_cast<std::size_t>(g * blocks_per_group)];
            for (std::int64_t c = 1; c < blocks_per_group; ++c) {
                const BlockExtent& o = extents[static_cast<std::size_t>(g * blocks_per_group + c)];
                e.lo = o.lo < e.lo ? o.lo : e.lo;
                e.hi = e.hi < o.hi ? o.hi : e.hi;
            }
            quant_scale_zero(e.lo,
                             e.hi,
                             bounds,
                             params.min_range,
                             symmetric,
                             &s[static_cast<std::size_t>(g)],
                             &z[static_cast<std::size_t>(g)]);
        }
    });
    // Pass 2: map every value (after all of pass 1, so out may alias x).
    parallel_for_blocks(num_blocks, threads, [&](std::int64_t k0, std::int64_t k1, int) {
        for (std::int64_t k = k0; k < k1; ++k) {
            std::int64_t begin = 0, end = 0;
            block_range(k, &begin, &end);
            const auto g = static_cast<std::size_t>(k / blocks_per_group);
            if (params.rounding == Rounding::kNearest) {
                map_block_nearest(x, out, begin, end, s[g], z[g], bounds, symmetric);
            } else {
                map_block_stochastic(
                    x, out, begin, end, s[g], z[g], bounds, symmetric, params.seed);
            }
        }
    });
    for (std::int64_t g = 0; g < layout.num_groups; ++g) {
        const auto gi = static_cast<std::size_t>(g);
        if (scales != nullptr) {
            scales[g] = s[gi];
        }
        if (zero_points != nullptr) {
            // The asymmetric full grid reports zp = -z (x^ = (q - zp)*s); symmetric z is +0.
            zero_points[g] = (full_grid && !symmetric) ? -z[gi] : z[gi];
        }
    }
    return Status::kOk;
}

}  // namespace lowbit::kernels
