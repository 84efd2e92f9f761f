// Private: reading one code or zero point out of a packed weight (docs/efficientqat.md §Packed
// layout), shared by the reference and the CPU path so both decode the words identically.
#pragma once

#include "lowbit/kernels/host_device.h"
#include "lowbit/kernels/packed_linear.h"

#include <cstdint>

namespace lowbit::kernels {

/// q[i, o]: input i, output column o.
LOWBIT_HD inline std::uint32_t packed_code(
    const std::uint32_t* qweight, std::int64_t out, int bits, std::int64_t i, std::int64_t o) {
    const int per_word = 32 / bits;
    const int shift = bits * static_cast<int>(i % per_word);
    return (qweight[(i / per_word) * out + o] >> shift) & ((1U << bits) - 1U);
}

/// z[g, o]: group g, output column o.
LOWBIT_HD inline std::uint32_t packed_zero(
    const std::uint32_t* qzeros, std::int64_t out, int bits, std::int64_t g, std::int64_t o) {
    const int per_word = 32 / bits;
    const std::int64_t word_cols = (out + per_word - 1) / per_word;
    const int shift = bits * static_cast<int>(o % per_word);
    return (qzeros[g * word_cols + o / per_word] >> shift) & ((1U << bits) - 1U);
}

/// Σ_i x_row[i]·Ŵ[o, i] for output column o (no bias), in the reference's order: each group's
/// Σ x·(q − z) in input order, then scaled by its step and added in group order.
LOWBIT_HD inline float packed_column_dot(const float* x_row,
                                         const PackedWeightView& w,
                                         std::int64_t o) {
    const std::int64_t groups = w.in / w.group_size;
    float acc = 0.0F;
    for (std::int64_t g = 0; g < groups; ++g) {
        const auto z = static_cast<float>(packed_zero(w.qzeros, w.out, w.bits, g, o));
        float group_sum = 0.0F;
        for (std::int64_t i = g * w.group_size; i < (g + 1) * w.group_size; ++i) {
            const auto q = static_cast<float>(packed_code(w.qweight, w.out, w.bits, i, o));
            group_sum += x_row[i] * (q - z);
        }
        acc += group_sum * w.scales[g * w.out + o];
    }
    return acc;
}

}  // namespace lowbit::kernels
