// The vector loops of quantized_adam_simd.h (Highway: foreach_target re-includes this file per
// SIMD target; HWY_DYNAMIC_DISPATCH picks the host's best).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/quantized_adam_simd.cpp"
#include "cpu/quantized_adam_simd.h"

#include "common/quantized_adam_math.h"
#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();

namespace lowbit::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

static void StateDecodeVector(const std::uint8_t* codes,
                              std::int64_t n,
                              float s,
                              float z,
                              QuantBounds b,
                              bool symmetric,
                              bool square,
                              float* out) {
    const hn::ScalableTag<float> df;
    const hn::Rebind<std::int32_t, decltype(df)> di;
    const hn::Rebind<std::uint8_t, decltype(df)> d8;
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(df));
    const auto vs = hn::Set(df, s);
    const auto vz = hn::Set(df, z);
    const auto qn = hn::Set(df, b.qn);
    std::int64_t i = 0;
    for (; i + lanes <= n; i += lanes) {
        // q = code + Qn, exact (small integers)
        const auto q = hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, codes + i))) + qn;
        auto x = symmetric ? q * vs : (q + vz) * vs;
        if (square) {
            x = x * x;
        }
        hn::StoreU(x, df, out + i);
    }
    for (; i < n; ++i) {
        out[i] = state_code_value(codes[i], s, z, b, symmetric, square);
    }
}

static void StateEncodeVector(const float* x,
                              std::int64_t n,
                              float s,
                              float z,
                              QuantBounds b,
                              bool symmetric,
                              std::uint8_t* codes) {
    const hn::ScalableTag<float> df;
    const hn::Rebind<std::int32_t, decltype(df)> di;
    const hn::Rebind<std::uint8_t, decltype(df)> d8;
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(df));
    const auto vs = hn::Set(df, s);
    const auto vz = hn::Set(df, z);
    const auto qn = hn::Set(df, b.qn);
    const auto qp = hn::Set(df, b.qp);
    const auto magic = hn::Set(df, 12582912.0f);  // quant_round_half_even's 1.5 * 2^23
    std::int64_t i = 0;
    for (; i + lanes <= n; i += lanes) {
        const auto v = hn::LoadU(df, x + i);
        auto t = symmetric ? v / vs : v / vs - vz;
        t = hn::IfThenElse(t < qn, qn, hn::IfThenElse(qp < t, qp, t));  // quant_clamp
        const auto q = hn::CopySign((t + magic) - magic, t);
        // code = q - Qn in [0, 255]; a NaN (only from a NaN gradient) stores 0.
        const auto code = hn::IfThenElseZero(hn::Eq(q, q), q - qn);
        hn::StoreU(hn::DemoteTo(d8, hn::ConvertTo(di, code)), d8, codes + i);
    }
    for (; i < n; ++i) {
        codes[i] = state_code_of(x[i], s, z, b, symmetric);
    }
}

static void AdamUpdateVector(float* param,
                             const float* grad,
                             const float* m_old,
                             const float* v_old,
                             std::int64_t n,
                             const AdamStepScalars& sc,
                             float* m_new,
                             float* v_new,
                             bool v_new_root) {
    const hn::ScalableTag<float> d;
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
    const auto beta1 = hn::Set(d, sc.beta1);
    const auto one_minus_beta1 = hn::Set(d, sc.one_minus_beta1);
    const auto beta2 = hn::Set(d, sc.beta2);
    const auto one_minus_beta2 = hn::Set(d, sc.one_minus_beta2);
    const auto decay = hn::Set(d, sc.decay_factor);
    const auto step_size = hn::Set(d, sc.step_size);
    const auto bc2 = hn::Set(d, sc.bias_correction2_sqrt);
    const auto eps = hn::Set(d, sc.eps);
    std::int64_t i = 0;
    for (; i + lanes <= n; i += lanes) {
        const auto p = hn::LoadU(d, param + i);
        const auto g = hn::LoadU(d, grad + i);
        // adam_element_update, operation for operation
        const auto decayed = p * decay;
        const auto m = beta1 * hn::LoadU(d, m_old + i) + one_minus_beta1 * g;
        const auto v = beta2 * hn::LoadU(d, v_old + i) + one_minus_beta2 * (g * g);
        const auto v_root = hn::Sqrt(v);
        const auto denom = v_root / bc2 + eps;
        hn::StoreU(decayed - step_size * (m / denom), d, param + i);
        hn::StoreU(m, d, m_new + i);
        hn::StoreU(v_new_root ? v_root : v, d, v_new + i);
    }
    for (; i < n; ++i) {
        const AdamElementUpdate u = adam_element_update(param[i], grad[i], m_old[i], v_old[i], sc);
        param[i] = u.param;
        m_new[i] = u.m;
        v_new[i] = v_new_root ? u.v_root : u.v;
    }
}

}  // namespace lowbit::kernels::HWY_NAMESPACE

HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lowbit::kernels {

HWY_EXPORT(StateDecodeVector);
HWY_EXPORT(StateEncodeVector);
HWY_EXPORT(AdamUpdateVector);

void simd_state_decode(const std::uint8_t* codes,
                       std::int64_t n,
                       float s,
                       float z,
                       QuantBounds b,
                       bool symmetric,
                       bool square,
                       float* out) {
    HWY_DYNAMIC_DISPATCH(StateDecodeVector)(codes, n, s, z, b, symmetric, square, out);
}

void simd_state_encode(const float* x,
                       std::int64_t n,
                       float s,
                       float z,
                       QuantBounds b,
                       bool symmetric,
                       std::uint8_t* codes) {
    HWY_DYNAMIC_DISPATCH(StateEncodeVector)(x, n, s, z, b, symmetric, codes);
}

void simd_adam_update(float* param,
                      const float* grad,
                      const float* m_old,
                      const float* v_old,
                      std::int64_t n,
                      const AdamStepScalars& scalars,
                      float* m_new,
                      float* v_new,
                      bool v_new_root) {
    HWY_DYNAMIC_DISPATCH(AdamUpdateVector)
    (param, grad, m_old, v_old, n, scalars, m_new, v_new, v_new_root);
}

}  // namespace lowbit::kernels
#endif
