// Private: the per-group scale / zero point and per-element fake-quant arithmetic shared by
// fake_quant_cpu_parallel and the CUDA kernels. Both grids are written as one signed-offset form:
// t = x/s - z, q = round(clamp(t, qn, qp)), x^ = (q + z)*s, where for the full grid z = -zp
// (negation is exact in IEEE, so x/s - z == x/s + zp and q + z == q - zp bit for bit).
#pragma once

#include "lowbit/kernels/counter_hash.h"
#include "lowbit/kernels/host_device.h"
#include "lowbit/kernels/quant_format.h"

#include <cmath>
#include <cstdint>

namespace lowbit::kernels {

struct QuantBounds {
    float qn;       // lowest code
    float qp;       // highest code
    float divisor;  // step = range / divisor
};

/// [Qn, Qp] and the step divisor from the format table (code_range, step_divisor in
/// quant_format.h). Host only (those are not device functions): the launchers pass the bounds to
/// the kernels.
inline QuantBounds quant_bounds(int bits, bool symmetric, QuantGrid grid, bool is_signed = true) {
    const CodeRange r = code_range(grid, bits, symmetric, is_signed);
    return {static_cast<float>(r.qn),
            static_cast<float>(r.qp),
            static_cast<float>(step_divisor(grid, bits, symmetric, is_signed))};
}

/// Round half to even. On the host this is the magic-number form (t + 1.5*2^23) - 1.5*2^23, exact
/// in the default rounding mode for |t| <= 2^22 (t is clamped to [-128, 255] here) and, unlike a
/// libm call, vectorisable with SSE2; copysign restores rint's sign of zero (rint(-0.3) == -0).
LOWBIT_HD inline float quant_round_half_even(float t) {
#if defined(__CUDA_ARCH__)
    return rintf(t);
#else
    constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23: forces rounding at the units place
    const float r = (t + kMagic) - kMagic;
    return std::copysign(r, t);
#endif
}

/// floor(v) for |v| <= 2^22, built on quant_round_half_even so it vectorises on the host.
LOWBIT_HD inline float quant_floor(float v) {
#if defined(__CUDA_ARCH__)
    return floorf(v);
#else
    const float r = quant_round_half_even(v);
    return r > v ? r - 1.0f : r;
#endif
}

LOWBIT_HD inline float quant_clamp(float t, float lo, float hi) {
    return t < lo ? lo : (t > hi ? hi : t);
}

/// Scale and internal offset z of one group. lo/hi: group min/max (asymmetric) or 0/absmax
/// (symmetric). Symmetric: s = max(absmax, r_min)/Qp, z = 0. Asymmetric: s = max(hi-lo, r_min)/div,
/// z = round(lo/s - qn) (reference grid: z; full grid: -zp since round(lo/s) == -round(-lo/s)).
LOWBIT_HD inline void quant_scale_zero(
    float lo, float hi, QuantBounds b, float min_range, bool symmetric, float* s, float* z) {
    if (symmetric) {
        const float a = hi < min_range ? min_range : hi;  // std::max(absmax, r_min)
        *s = a / b.divisor;
        *z = 0.0f;
        return;
    }
    const float range = hi - lo;
    const float r = range < min_range ? min_range : range;
    *s = r / b.divisor;
    // Not the magic-number round: lo/s is unbounded (a narrow group far from 0 gives |lo/s| >
    // 2^22).
#if defined(__CUDA_ARCH__)
    *z = rintf(lo / *s - b.qn);
#else
    *z = std::nearbyint(lo / *s - b.qn);
#endif
}

/// One element's round-to-nearest code q = round(clamp(x/s − z)); symmetric: round(clamp(x/s)).
LOWBIT_HD inline float quant_code_nearest(
    float x, float s, float z, QuantBounds b, bool symmetric) {
    return quant_round_half_even(quant_clamp(symmetric ? x / s : x / s - z, b.qn, b.qp));
}

/// One element, round to nearest. Symmetric uses q*s (not (q + 0)*s) so that -0 survives as in
/// the reference and PyTorch.
LOWBIT_HD inline float fake_quant_nearest(
    float x, float s, float z, QuantBounds b, bool symmetric) {
    const float q = quant_code_nearest(x, s, z, b, symmetric);
    return symmetric ? q * s : (q + z) * s;
}

/// One element, stochastic rounding: min(floor(clamp(t) + u), qp), u from (seed, flat index). The
/// min is needed because qp + u rounds up to qp + 1 in float32 when u is close to 1.
LOWBIT_HD inline float fake_quant_stochastic(float x,
                                             float s,
                                             float z,
                                             QuantBounds b,
                                             bool symmetric,
                                             std::uint64_t seed,
                                             std::uint64_t index) {
    const float u = counter_hash_uniform(seed, index);
    const float t = symmetric ? x / s : x / s - z;
    float q = quant_floor(quant_clamp(t, b.qn, b.qp) + u);
    q = q > b.qp ? b.qp : q;
    return symmetric ? q * s : (q + z) * s;
}

}  // namespace lowbit::kernels
