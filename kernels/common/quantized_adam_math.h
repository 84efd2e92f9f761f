// Private: the element arithmetic of the quantized-Adam step shared by the CPU-parallel path and
// the CUDA kernels, so both evaluate the same float32 operations in the same order. On the device
// every operation uses an explicit round-to-nearest intrinsic, because nvcc would otherwise
// contract a*b + c into one FMA (one rounding instead of two) and break bit-identity with the host.
#pragma once

#include "lowbit/kernels/host_device.h"
#include "lowbit/kernels/quantized_adam.h"

#include <cmath>
#include <cstdint>

#include "common/quant_math.h"

namespace lowbit::kernels {

LOWBIT_HD inline float qa_mul(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

LOWBIT_HD inline float qa_add(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

LOWBIT_HD inline float qa_sub(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fsub_rn(a, b);
#else
    return a - b;
#endif
}

LOWBIT_HD inline float qa_div(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fdiv_rn(a, b);
#else
    return a / b;
#endif
}

LOWBIT_HD inline float qa_sqrt(float a) {
#if defined(__CUDA_ARCH__)
    return __fsqrt_rn(a);
#else
    return std::sqrt(a);
#endif
}

/// New m, v and sqrt(v) of one element, and the updated parameter (see QuantizedAdamArgs).
struct AdamElementUpdate {
    float param;
    float m;
    float v;
    float v_root;
};

/// m_t = beta1 m + (1 - beta1) g
LOWBIT_HD inline float adam_first_moment(float m_old, float g, const AdamStepScalars& s) {
    return qa_add(qa_mul(s.beta1, m_old), qa_mul(s.one_minus_beta1, g));
}

/// v_t = beta2 v + (1 - beta2) g^2
LOWBIT_HD inline float adam_second_moment(float v_old, float g, const AdamStepScalars& s) {
    return qa_add(qa_mul(s.beta2, v_old), qa_mul(s.one_minus_beta2, qa_mul(g, g)));
}

LOWBIT_HD inline AdamElementUpdate adam_element_update(
    float p, float g, float m_old, float v_old, const AdamStepScalars& s) {
    AdamElementUpdate u;
    const float decayed = qa_mul(p, s.decay_factor);
    u.m = adam_first_moment(m_old, g, s);
    u.v = adam_second_moment(v_old, g, s);
    u.v_root = qa_sqrt(u.v);
    const float denom = qa_add(qa_div(u.v_root, s.bias_correction2_sqrt), s.eps);
    u.param = qa_sub(decayed, qa_mul(s.step_size, qa_div(u.m, denom)));
    return u;
}

/// Code i of a state (q - Qn, in [0, 2^bits - 1]).
LOWBIT_HD inline int state_load_code(const std::uint8_t* codes, std::int64_t i, bool packed) {
    if (!packed) {
        return codes[i];
    }
    const int byte = codes[i >> 1];
    return (i & 1) ? (byte >> 4) : (byte & 0xF);
}

/// Dequantized value of a code byte: q*s (symmetric) or (q + z)*s, squared for the sqrt mapping.
LOWBIT_HD inline float state_code_value(
    int code, float s, float z, QuantBounds b, bool symmetric, bool square) {
    const float q = static_cast<float>(code) + b.qn;  // exact: small integers
    const float x = symmetric ? qa_mul(q, s) : qa_mul(qa_add(q, z), s);
    return square ? qa_mul(x, x) : x;
}

/// Code byte of x in a group with scale s and offset z: round(clamp(x/s - z, Qn, Qp)) - Qn. NaN
/// (only from a NaN gradient) stores code 0.
LOWBIT_HD inline std::uint8_t state_code_of(
    float x, float s, float z, QuantBounds b, bool symmetric) {
    const float t = symmetric ? qa_div(x, s) : qa_sub(qa_div(x, s), z);
    const float q = quant_round_half_even(quant_clamp(t, b.qn, b.qp));
    return q == q ? static_cast<std::uint8_t>(static_cast<int>(q - b.qn)) : std::uint8_t{0};
}

/// Running extent of a group: absmax (symmetric) or min/max, NaN ignored after the first value
/// exactly like std::max / std::min in the reference.
struct StateExtent {
    float lo;
    float hi;
};

LOWBIT_HD inline void state_extent_add(StateExtent* e, float x, bool symmetric) {
    if (symmetric) {
#if defined(__CUDA_ARCH__)
        const float a = fabsf(x);
#else
        const float a = std::fabs(x);
#endif
        e->hi = e->hi < a ? a : e->hi;
    } else {
        e->lo = x < e->lo ? x : e->lo;
        e->hi = e->hi < x ? x : e->hi;
    }
}

}  // namespace lowbit::kernels
