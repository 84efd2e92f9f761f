// The vector loops of fake_quant_simd.h. Highway compiles this file once per SIMD target
// (foreach_target re-includes it) and HWY_DYNAMIC_DISPATCH picks the best the host runs.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/fake_quant_simd.cpp"
#include "cpu/fake_quant_simd.h"

#include <cmath>

#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();

namespace lowbit::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The sign a zero extreme has in a sequential scan: the first zero's (a later equal value never
// replaces it; lanes may meet the zeros in another order).
static float first_zero(const float* x, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        if (x[i] == 0.0f) {
            return x[i];
        }
    }
    return 0.0f;
}

// Extremes are kept in kAccumulators independent vectors, so that the compare-and-select of one
// vector does not wait on the previous one's; they are combined with the same selection at the
// end, which for the values they can hold (below) is order-free.
constexpr int kAccumulators = 4;

// The symmetric scan's absmax of x[0, n): |x| seeded with +0, a NaN never replacing it. The
// lanes therefore hold neither NaN nor -0, so their vector max is the sequential scan's.
template <class D>
HWY_INLINE float SymmetricAbsmax(D d, const float* HWY_RESTRICT x, std::int64_t n) {
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
    const auto keep_larger = [](auto m, auto a) { return hn::IfThenElse(m < a, a, m); };
    auto m0 = hn::Zero(d);
    auto m1 = m0;
    auto m2 = m0;
    auto m3 = m0;
    std::int64_t i = 0;
    for (; i + kAccumulators * lanes <= n; i += kAccumulators * lanes) {
        m0 = keep_larger(m0, hn::Abs(hn::LoadU(d, x + i)));
        m1 = keep_larger(m1, hn::Abs(hn::LoadU(d, x + i + lanes)));
        m2 = keep_larger(m2, hn::Abs(hn::LoadU(d, x + i + 2 * lanes)));
        m3 = keep_larger(m3, hn::Abs(hn::LoadU(d, x + i + 3 * lanes)));
    }
    for (; i + lanes <= n; i += lanes) {
        m0 = keep_larger(m0, hn::Abs(hn::LoadU(d, x + i)));
    }
    const auto absmax_v = keep_larger(keep_larger(m0, m1), keep_larger(m2, m3));
    float absmax = hn::GetLane(hn::MaxOfLanes(d, absmax_v));
    for (; i < n; ++i) {
        const float a = std::fabs(x[i]);
        absmax = absmax < a ? a : absmax;
    }
    return absmax;
}

// Min and max of x[0, n) as the sequential scan seeded with x[0] finds them. Every accumulator
// is seeded with x[0]: if that is NaN, all stay NaN, as the scan does; otherwise they never
// hold NaN, and only the sign of a zero extreme can depend on the order, which the first zero
// fixes afterwards.
template <class D>
HWY_INLINE BlockExtent
BlockExtentOf(D d, const float* HWY_RESTRICT x, std::int64_t n, bool symmetric) {
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
    std::int64_t i = 0;
    if (symmetric) {
        return {0.0f, SymmetricAbsmax(d, x, n)};
    }
    const auto keep_smaller = [](auto m, auto v) { return hn::IfThenElse(v < m, v, m); };
    const auto keep_larger = [](auto m, auto v) { return hn::IfThenElse(m < v, v, m); };
    auto lo0 = hn::Set(d, x[0]);
    auto lo1 = lo0;
    auto lo2 = lo0;
    auto lo3 = lo0;
    auto hi0 = lo0;
    auto hi1 = lo0;
    auto hi2 = lo0;
    auto hi3 = lo0;
    for (; i + kAccumulators * lanes <= n; i += kAccumulators * lanes) {
        const auto v0 = hn::LoadU(d, x + i);
        const auto v1 = hn::LoadU(d, x + i + lanes);
        const auto v2 = hn::LoadU(d, x + i + 2 * lanes);
        const auto v3 = hn::LoadU(d, x + i + 3 * lanes);
        lo0 = keep_smaller(lo0, v0);
        lo1 = keep_smaller(lo1, v1);
        lo2 = keep_smaller(lo2, v2);
        lo3 = keep_smaller(lo3, v3);
        hi0 = keep_larger(hi0, v0);
        hi1 = keep_larger(hi1, v1);
        hi2 = keep_larger(hi2, v2);
        hi3 = keep_larger(hi3, v3);
    }
    for (; i + lanes <= n; i += lanes) {
        const auto v = hn::LoadU(d, x + i);
        lo0 = keep_smaller(lo0, v);
        hi0 = keep_larger(hi0, v);
    }
    // The lanes hold x[0] and values after it; all NaN when x[0] is, else no NaN, so the
    // vector reductions give the scan's extremes (up to a zero's sign, fixed below).
    float lo = hn::GetLane(
        hn::MinOfLanes(d, keep_smaller(keep_smaller(lo0, lo1), keep_smaller(lo2, lo3))));
    float hi =
        hn::GetLane(hn::MaxOfLanes(d, keep_larger(keep_larger(hi0, hi1), keep_larger(hi2, hi3))));
    for (; i < n; ++i) {
        lo = x[i] < lo ? x[i] : lo;
        hi = hi < x[i] ? x[i] : hi;
    }
    if (lo == 0.0f) {
        lo = first_zero(x, n);
    }
    if (hi == 0.0f) {
        hi = first_zero(x, n);
    }
    return {lo, hi};
}

static BlockExtent BlockExtentVector(const float* HWY_RESTRICT x, std::int64_t n, bool symmetric) {
    return BlockExtentOf(hn::ScalableTag<float>(), x, n, symmetric);
}

static void BlockExtentsVector(const float* HWY_RESTRICT x,
                               std::int64_t num_blocks,
                               std::int64_t block_len,
                               BlockExtent* HWY_RESTRICT out) {
    const hn::ScalableTag<float> d;
    for (std::int64_t k = 0; k < num_blocks; ++k) {
        out[k] = BlockExtentOf(d, x + k * block_len, block_len, false);
    }
}

// quant_round_half_even of every lane: the same magic-number form (exact for |t| <= 2^22).
template <class D, class V>
HWY_INLINE V RoundHalfEven(D d, V t) {
    const auto magic = hn::Set(d, 12582912.0f);  // 1.5 * 2^23
    return hn::CopySign((t + magic) - magic, t);
}

// quant_clamp of every lane: t < lo ? lo : (t > hi ? hi : t), NaN passing through.
template <class V>
HWY_INLINE V ClampCodes(V t, V lo, V hi) {
    return hn::IfThenElse(t < lo, lo, hn::IfThenElse(hi < t, hi, t));
}

// quant_code_nearest(v, s, 0, b, true) of every lane.
template <class D, class V>
HWY_INLINE V SymmetricCodes(D d, V v, V vs, V qn, V qp) {
    return RoundHalfEven(d, ClampCodes(v / vs, qn, qp));
}

// A symmetric group's scale from its absmax (quant_scale_zero with lo = 0).
template <class D>
HWY_INLINE float SymmetricScale(
    D d, const float* HWY_RESTRICT x, std::int64_t n, QuantBounds b, float min_range) {
    float s = 0.0f;
    float z = 0.0f;
    quant_scale_zero(0.0f, SymmetricAbsmax(d, x, n), b, min_range, true, &s, &z);
    return s;
}

// fake_quant_nearest(x[i], s, 0, b, symmetric) for i in [0, n): out may alias x.
template <class D>
HWY_INLINE void MapSymmetric(
    D d, const float* x, float* out, std::int64_t n, float s, QuantBounds b) {
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
    const auto vs = hn::Set(d, s);
    const auto qn = hn::Set(d, b.qn);
    const auto qp = hn::Set(d, b.qp);
    std::int64_t i = 0;
    for (; i + lanes <= n; i += lanes) {
        hn::StoreU(SymmetricCodes(d, hn::LoadU(d, x + i), vs, qn, qp) * vs, d, out + i);
    }
    for (; i < n; ++i) {
        out[i] = fake_quant_nearest(x[i], s, 0.0f, b, true);
    }
}

static void MapNearestVector(
    const float* x, float* out, std::int64_t n, float s, float z, QuantBounds b, bool symmetric) {
    const hn::ScalableTag<float> d;
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
    if (symmetric) {
        MapSymmetric(d, x, out, n, s, b);
        return;
    }
    const auto vs = hn::Set(d, s);
    const auto vz = hn::Set(d, z);
    const auto qn = hn::Set(d, b.qn);
    const auto qp = hn::Set(d, b.qp);
    std::int64_t i = 0;
    for (; i + lanes <= n; i += lanes) {
        const auto t = ClampCodes(hn::LoadU(d, x + i) / vs - vz, qn, qp);
        hn::StoreU((RoundHalfEven(d, t) + vz) * vs, d, out + i);
    }
    for (; i < n; ++i) {
        out[i] = fake_quant_nearest(x[i], s, z, b, false);
    }
}

// Symmetric round-to-nearest fake quantization of num_groups consecutive groups of group_len
// values, each reduced and mapped while it is in the cache (SymmetricAbsmax, quant_scale_zero,
// MapSymmetric). One call for many groups, because per group the dispatch costs as much as the
// work.
static void QuantizeGroupsSymmetricVector(const float* HWY_RESTRICT x,
                                          float* out,
                                          std::int64_t num_groups,
                                          std::int64_t group_len,
                                          QuantBounds b,
                                          float min_range,
                                          float* scales) {
    const hn::ScalableTag<float> d;
    for (std::int64_t g = 0; g < num_groups; ++g) {
        const float* xg = x + g * group_len;
        const float s = SymmetricScale(d, xg, group_len, b, min_range);
        MapSymmetric(d, xg, out + g * group_len, group_len, s, b);
        if (scales != nullptr) {
            scales[g] = s;
        }
    }
}

// The int8 codes of QuantizeGroupsSymmetricVector's groups: per group the same absmax and s, then
// round(clamp(x / s)) as int8 (a NaN's code is 0, as fake_quant_codes_ref has it).
static void CodesGroupsSymmetricVector(const float* HWY_RESTRICT x,
                                       std::int8_t* HWY_RESTRICT codes,
                                       std::int64_t num_groups,
                                       std::int64_t group_len,
                                       QuantBounds b,
                                       float min_range,
                                       float* HWY_RESTRICT scales) {
    const hn::ScalableTag<float> d;
    const hn::RebindToSigned<decltype(d)> di;
    const hn::Rebind<std::int8_t, decltype(d)> d8;
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(d));
    const auto qn = hn::Set(d, b.qn);
    const auto qp = hn::Set(d, b.qp);
    for (std::int64_t g = 0; g < num_groups; ++g) {
        const float* xg = x + g * group_len;
        std::int8_t* cg = codes + g * group_len;
        const float s = SymmetricScale(d, xg, group_len, b, min_range);
        scales[g] = s;
        const auto vs = hn::Set(d, s);
        std::int64_t i = 0;
        for (; i + lanes <= group_len; i += lanes) {
            const auto q = SymmetricCodes(d, hn::LoadU(d, xg + i), vs, qn, qp);
            const auto finite_q = hn::IfThenElseZero(hn::Eq(q, q), q);
            hn::StoreU(hn::DemoteTo(d8, hn::ConvertTo(di, finite_q)), d8, cg + i);
        }
        for (; i < group_len; ++i) {
            const float q = quant_code_nearest(xg[i], s, 0.0f, b, true);
            cg[i] = std::isnan(q) ? std::int8_t{0} : static_cast<std::int8_t>(q);
        }
    }
}

}  // namespace lowbit::kernels::HWY_NAMESPACE

HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lowbit::kernels {

HWY_EXPORT(BlockExtentVector);
HWY_EXPORT(BlockExtentsVector);
HWY_EXPORT(MapNearestVector);
HWY_EXPORT(QuantizeGroupsSymmetricVector);
HWY_EXPORT(CodesGroupsSymmetricVector);

BlockExtent simd_block_extent(const float* x, std::int64_t n, bool symmetric) {
    return HWY_DYNAMIC_DISPATCH(BlockExtentVector)(x, n, symmetric);
}

void simd_block_extents(const float* x,
                        std::int64_t num_blocks,
                        std::int64_t block_len,
                        BlockExtent* out) {
    HWY_DYNAMIC_DISPATCH(BlockExtentsVector)(x, num_blocks, block_len, out);
}

void simd_map_nearest(
    const float* x, float* out, std::int64_t n, float s, float z, QuantBounds b, bool symmetric) {
    HWY_DYNAMIC_DISPATCH(MapNearestVector)(x, out, n, s, z, b, symmetric);
}

void simd_quantize_groups_symmetric(const float* x,
                                    float* out,
                                    std::int64_t num_groups,
                                    std::int64_t group_len,
                                    QuantBounds b,
                                    float min_range,
                                    float* scales) {
    HWY_DYNAMIC_DISPATCH(QuantizeGroupsSymmetricVector)
    (x, out, num_groups, group_len, b, min_range, scales);
}

void simd_codes_groups_symmetric(const float* x,
                                 std::int8_t* codes,
                                 std::int64_t num_groups,
                                 std::int64_t group_len,
                                 QuantBounds b,
                                 float min_range,
                                 float* scales) {
    HWY_DYNAMIC_DISPATCH(CodesGroupsSymmetricVector)
    (x, codes, num_groups, group_len, b, min_range, scales);
}

}  // namespace lowbit::kernels
#endif
