// Private: the vector loops of fake_quant_cpu_parallel, compiled for every SIMD target Highway
// knows and picked at run time for the host (docs/kernels.md §Vector loops). Each returns exactly
// what the scalar loop of the reference returns on the same values: same operations, same order
// where order matters, no contraction into fused multiply-adds.
#pragma once

#include <cstdint>

#include "common/quant_math.h"

namespace lowbit::kernels {

struct BlockExtent {
    float lo;  // min (asymmetric) or 0 (symmetric)
    float hi;  // max (asymmetric) or absmax (symmetric)
};

/// Extent of x[0, n), n >= 1, as the reference's sequential scan finds it: min/max seeded with
/// x[0] (NaN after x[0] ignored), absmax seeded with 0; a zero extreme keeps the sign of the first
/// zero in the scan.
BlockExtent simd_block_extent(const float* x, std::int64_t n, bool symmetric);

/// simd_block_extent(x + k * block_len, block_len, false) into out[k] for k in [0, num_blocks),
/// block_len >= 1, without a dispatch per block (a layer's rows, groups of 128).
void simd_block_extents(const float* x,
                        std::int64_t num_blocks,
                        std::int64_t block_len,
                        BlockExtent* out);

/// out[i] = fake_quant_nearest(x[i], s, z, b, symmetric) for i in [0, n); out may alias x.
void simd_map_nearest(
    const float* x, float* out, std::int64_t n, float s, float z, QuantBounds b, bool symmetric);

/// Symmetric round-to-nearest fake quantization of num_groups consecutive groups of group_len
/// values (x, out: (num_groups, group_len); out may alias x), each with its own scale (written to
/// scales[g] when scales is not null): per group, simd_block_extent's absmax, quant_scale_zero,
/// then simd_map_nearest, without a dispatch per group.
void simd_quantize_groups_symmetric(const float* x,
                                    float* out,
                                    std::int64_t num_groups,
                                    std::int64_t group_len,
                                    QuantBounds b,
                                    float min_range,
                                    float* scales);

/// The int8 codes round(clamp(x / s)) of simd_quantize_groups_symmetric's groups, with the same
/// scales (written to scales[g]); a NaN's code is 0. Codes must fit int8 (b within [-128, 127]).
void simd_codes_groups_symmetric(const float* x,
                                 std::int8_t* codes,
                                 std::int64_t num_groups,
                                 std::int64_t group_len,
                                 QuantBounds b,
                                 float min_range,
                                 float* scales);

}  // namespace lowbit::kernels
