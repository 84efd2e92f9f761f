// Private: what quant_stats_cpu_parallel and the CUDA kernel share: the per-element quantizer
// analysis (the pre-clamp code t, the code q and Q(x), evaluated with the same float operations as
// fake_quant_nearest / fake_quant_stochastic, so Q(x) is bit-identical to fake quantization), the
// uniform bin over [min, max], and the device result block that quant_stats_decode reads.
#pragma once

#include "lowbit/kernels/host_device.h"

#include <cstdint>

#include "common/quant_math.h"
#include "common/stats_math.h"

namespace lowbit::kernels {

/// One finite x against its group's s and z (full grid: z = -zp, see quant_math.h).
struct QuantElement {
    float q;   // integer code (a float); NaN when s or z is not finite (a group with Inf)
    float xq;  // Q(x), bit-identical to the fake-quant paths
    int clip;  // -1: t < Qn, +1: t > Qp, 0: inside the grid before the clamp
};

LOWBIT_HD inline QuantElement quant_stats_element(float x,
                                                  float s,
                                                  float z,
                                                  QuantBounds b,
                                                  bool symmetric,
                                                  bool stochastic,
                                                  std::uint64_t seed,
                                                  std::uint64_t index) {
    const float t = symmetric ? x / s : x / s - z;
    QuantElement e;
    // Clipped: the clamp changes the code, i.e. round(t) lies outside [Qn, Qp]. Comparing t
    // itself would count absmax values whose x/s exceeds Qp by an ulp of the scale's rounding.
    // |t| >= 2^22 is outside every grid already and beyond the magic-number rounding's range.
    constexpr float kExactRound = 4194304.0f;
    const float r = (t > -kExactRound && t < kExactRound) ? quant_round_half_even(t) : t;
    e.clip = r < b.qn ? -1 : (r > b.qp ? 1 : 0);
    const float c = quant_clamp(t, b.qn, b.qp);
    if (stochastic) {
        const float q = quant_floor(c + counter_hash_uniform(seed, index));
        e.q = q > b.qp ? b.qp : q;
    } else {
        e.q = quant_round_half_even(c);
    }
    e.xq = symmetric ? e.q * s : (e.q + z) * s;
    return e;
}

/// Uniform bin of a finite x in [lo, hi] (the buffer's own finite range): tensor_stats' rule;
/// a constant buffer (lo == hi) puts everything in bin 0.
LOWBIT_HD inline int quant_stats_uniform_bin(float x, double lo, double hi, int bins) {
    if (!(hi > lo)) {
        return 0;
    }
    const int b = stats_uniform_bin(x, lo, hi, bins);
    return b < 0 ? 0 : (b >= bins ? bins - 1 : b);
}

/// Device result block of launch_quant_stats, followed in the same block by (uniform_bins,) and
/// (second_bins,) unsigned 64-bit counts. 128 bytes, so the counts stay 8-byte aligned.
struct QuantStatsAccum {
    unsigned long long finite_count;
    unsigned long long nan_count;
    unsigned long long inf_count;
    unsigned long long zero_count;
    unsigned long long clipped_low;
    unsigned long long clipped_high;
    unsigned long long underflow_count;
    unsigned long long second_low;
    unsigned long long second_high;
    double sum;
    double sumsq;
    double sum_cube;
    double sum_quad;
    double error_sumsq;
    unsigned int min_key;  // float_to_ordered_key of the finite min; 0xFFFFFFFF: none yet
    unsigned int max_key;  // ... of the finite max; 0: none yet
    unsigned int scale_min_key;
    unsigned int scale_max_key;
};

static_assert(sizeof(QuantStatsAccum) == 128, "result block layout changed");

}  // namespace lowbit::kernels
