// The vector loop of quant_stats_simd.h (Highway: foreach_target re-includes this file per SIMD
// target; HWY_DYNAMIC_DISPATCH picks the host's best). Values are processed Lanes(float) at a
// time: the quantizer and the bins in float, the moments in double, one half-vector at a time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/quant_stats_simd.cpp"
#include "cpu/quant_stats_simd.h"

#include "lowbit/kernels/tensor_stats.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();

namespace lowbit::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR
// One lane has no halves to widen: the caller's scalar loop takes every run.
static std::int64_t StatsRunVector(
    const float*, std::int64_t, const StatsRunArgs&, const StatsHistograms&, StatsRunResult*) {
    return 0;
}
#else
// The uniform bin of docs/kernels.md §Statistics pass: f = (x − lo) · (bins / (hi − lo)) in
// float is within bins · 2^-22 of the reference's double quotient t = ((x − lo) · bins) / (hi − lo)
// (three float roundings of at most 2^-24 relative each, t <= bins), so floor(f) is t's bin
// unless f lies within that bound of an integer. Lanes within bins · 2^-20 of one (a 4× margin)
// make the whole vector take the reference's double expression.
struct UniformBinner {
    bool constant = false;  // hi == lo: every value in bin 0
    bool float_ok = false;  // hi − lo and bins / (hi − lo) are finite normal floats
    float lo = 0.0f;
    float inv_width = 0.0f;  // bins / (hi − lo), rounded to float
    float edge_margin = 0.0f;
    double lo_d = 0.0;
    double bins_d = 0.0;
    double range_d = 0.0;

    UniformBinner(float lo_in, float hi_in, int bins)
        : constant(!(hi_in > lo_in)),
          lo(lo_in),
          lo_d(lo_in),
          bins_d(bins),
          range_d(static_cast<double>(hi_in) - static_cast<double>(lo_in)) {
        const double inv = bins_d / range_d;
        float_ok = !constant && std::isnormal(static_cast<float>(range_d)) &&
                   std::isnormal(static_cast<float>(inv));
        inv_width = static_cast<float>(inv);
        edge_margin = static_cast<float>(bins_d * 0x1p-20);
    }
};

// The float bin of every lane (floor of f) and whether a lane lies within the error bound of a
// bin edge (then the vector takes the reference's double expression, UniformBinsExact). Needs
// u.float_ok.
template <class DF, class V>
struct FloatBins {
    V floor_f;
    hn::Mask<DF> near_edge;
};

template <class DF, class V>
HWY_INLINE FloatBins<DF, V> UniformFloatBins(
    DF, V v, V lo, V inv_width, V margin, V one_minus_margin) {
    const auto f = (v - lo) * inv_width;  // >= 0: every value is at least lo
    const auto floor_f = hn::Floor(f);
    const auto frac = f - floor_f;
    return {floor_f, hn::Or(hn::Lt(frac, margin), hn::Gt(frac, one_minus_margin))};
}

// The low 16 bits of the result hold the integer-valued k of every lane, 0 <= k < 2^16: adding
// 2^23 puts k in the low mantissa bits (exact), which the caller masks or shifts out.
template <class DF, class V>
HWY_INLINE hn::Vec<hn::RebindToUnsigned<DF>> SmallIntegerBits(DF df, V k) {
    return hn::BitCast(hn::RebindToUnsigned<DF>(), k + hn::Set(df, 8388608.0f));
}

// The uniform bin of every lane in the low 16 bits (the high bits are not zero): the float bin
// away from the edges, else stats_uniform_bin's double expression, truncated (t >= 0) and clamped
// to the bins.
template <class DF, class V>
HWY_INLINE hn::Vec<hn::RebindToUnsigned<DF>> UniformBins(DF df,
                                                         V v,
                                                         const UniformBinner& u,
                                                         V lo,
                                                         V inv_width,
                                                         V margin,
                                                         V one_minus_margin,
                                                         V last_bin) {
    const hn::RebindToUnsigned<DF> du;
    if (u.constant) {
        return hn::Zero(du);
    }
    if (u.float_ok) {
        const FloatBins<DF, V> b = UniformFloatBins(df, v, lo, inv_width, margin, one_minus_margin);
        if (hn::AllFalse(df, b.near_edge)) {
            return SmallIntegerBits(df, hn::Min(b.floor_f, last_bin));
        }
    }
    const hn::RebindToSigned<DF> di;
    const hn::Half<DF> dh;
    const hn::Repartition<double, DF> dd;
    const hn::Rebind<std::int32_t, decltype(dd)> dih;
    const auto bin_of = [&](auto half) {
        const auto t = ((hn::PromoteTo(dd, half) - hn::Set(dd, u.lo_d)) * hn::Set(dd, u.bins_d)) /
                       hn::Set(dd, u.range_d);
        return hn::DemoteTo(dih, t);
    };
    const auto bins_v = hn::Combine(di, bin_of(hn::UpperHalf(dh, v)), bin_of(hn::LowerHalf(dh, v)));
    const auto last = hn::ConvertTo(di, last_bin);
    return hn::BitCast(du, hn::Min(hn::Max(bins_v, hn::Zero(di)), last));
}

// The five double sums over one half-vector of values.
template <class DD>
struct Moments {
    hn::Vec<DD> sum, sumsq, cube, quad, err_sq;

    explicit Moments(DD dd)
        : sum(hn::Zero(dd)),
          sumsq(hn::Zero(dd)),
          cube(hn::Zero(dd)),
          quad(hn::Zero(dd)),
          err_sq(hn::Zero(dd)) {}

    HWY_INLINE void add(hn::Vec<DD> v) {
        const auto v2 = v * v;  // exact: a float squared fits a double
        sum = sum + v;
        sumsq = sumsq + v2;
        cube = hn::MulAdd(v2, v, cube);
        quad = hn::MulAdd(v2, v2, quad);
    }

    HWY_INLINE void add_error(hn::Vec<DD> v, hn::Vec<DD> xq) {
        add_error_of(v - xq);
    }

    HWY_INLINE void add_error_of(hn::Vec<DD> err) {
        err_sq = hn::MulAdd(err, err, err_sq);
    }

    void store_into(DD dd, StatsSums& s) const {
        s.sum += hn::GetLane(hn::SumOfLanes(dd, sum));
        s.sumsq += hn::GetLane(hn::SumOfLanes(dd, sumsq));
        s.sum_cube += hn::GetLane(hn::SumOfLanes(dd, cube));
        s.sum_quad += hn::GetLane(hn::SumOfLanes(dd, quad));
        s.error_sumsq += hn::GetLane(hn::SumOfLanes(dd, err_sq));
    }
};

// The word counted for a value: its second bin above its uniform bin (< 2^16). A code's bin may
// still carry the exponent bits of the 2^23 added to make it (SmallIntegerBits), above bit 23:
// shifted by 16 they leave the word; for the joint table's narrower shift they are masked off.
template <bool kJoint, class DU>
HWY_INLINE hn::Vec<DU> BinWord(DU du, hn::Vec<DU> second, hn::Vec<DU> uniform, int joint_shift) {
    if constexpr (kJoint) {
        return hn::Or(hn::ShiftLeftSame(hn::And(second, hn::Set(du, 0x7FFFFFu)), joint_shift),
                      uniform);
    } else {
        (void)du;
        (void)joint_shift;
        return hn::Or(hn::ShiftLeft<16>(second), uniform);
    }
}

// Counts the packed bins of one vector (the uniform bin in the low 16 bits of each word, the
// second bin in the high 16), value j into copy j % kStatsHistogramCopies; two words come in one
// 8-byte load. The copies' pointers are locals, so the compiler need not reload them after an
// increment (which could alias h).
HWY_INLINE void CountBins(const StatsHistograms& h, const std::uint32_t* bins, std::int64_t len) {
    static_assert(kStatsHistogramCopies == 4);
    static_assert(kMaxHistogramBins <= (1 << 16));  // a uniform bin fits the low 16 bits
    std::int64_t* const u0 = h.uniform;
    std::int64_t* const u1 = u0 + h.stride;
    std::int64_t* const u2 = u1 + h.stride;
    std::int64_t* const u3 = u2 + h.stride;
    std::int64_t* const s0 = h.second;
    std::int64_t* const s1 = s0 + h.stride;
    std::int64_t* const s2 = s1 + h.stride;
    std::int64_t* const s3 = s2 + h.stride;
    for (std::int64_t j = 0; j < len; j += kStatsHistogramCopies) {
        std::uint64_t b01 = 0;
        std::uint64_t b23 = 0;
        // Which word of a pair lands in which copy depends on the byte order; the copies are
        // added up, so that does not matter.
        std::memcpy(&b01, bins + j, sizeof b01);
        std::memcpy(&b23, bins + j + 2, sizeof b23);
        ++u0[b01 & 0xFFFFu];
        ++s0[(b01 >> 16) & 0xFFFFu];
        ++u1[(b01 >> 32) & 0xFFFFu];
        ++s1[b01 >> 48];
        ++u2[b23 & 0xFFFFu];
        ++s2[(b23 >> 16) & 0xFFFFu];
        ++u3[(b23 >> 32) & 0xFFFFu];
        ++s3[b23 >> 48];
    }
}

// Counts one vector's joint cells (docs/kernels.md §Statistics pass), value j into copy
// j % kJointCopies of the joint table; two cells come in one 8-byte load.
HWY_INLINE void CountCells(const StatsHistograms& h, const std::uint32_t* cells, std::int64_t len) {
    static_assert(kJointCopies == 4);
    std::uint32_t* const j0 = h.joint;
    std::uint32_t* const j1 = j0 + h.joint_stride;
    std::uint32_t* const j2 = j1 + h.joint_stride;
    std::uint32_t* const j3 = j2 + h.joint_stride;
    for (std::int64_t j = 0; j < len; j += kJointCopies) {
        std::uint64_t c01 = 0;
        std::uint64_t c23 = 0;
        std::memcpy(&c01, cells + j, sizeof c01);
        std::memcpy(&c23, cells + j + 2, sizeof c23);
        ++j0[c01 & 0xFFFFFFFFu];
        ++j1[c01 >> 32];
        ++j2[c23 & 0xFFFFFFFFu];
        ++j3[c23 >> 32];
    }
}

// A symmetric group's codes by the reciprocal of its scale (docs/kernels.md §Statistics pass):
// t' = x · RN(1/s) lies within |t'| · 2^-22 of the reference's t = RN(x / s), so round(t') is
// round(t) unless t' lies within that bound of a half-integer; lanes within |t'| · 2^-20 of one
// (a fourfold margin, which also covers every |t'| > 2^19 and so the magic-number rounding's
// range) make the vector take the division. Needs s and 1/s normal.
struct ReciprocalScale {
    bool ok = false;
    float inv = 0.0f;

    explicit ReciprocalScale(float s) {
        inv = 1.0f / s;
        ok = std::isnormal(s) && s > 0.0f && std::isnormal(inv);
    }
};

// The loop, with the quantizer's options as template parameters so that no option is tested
// (or reloaded from `a` after a store) per vector. A vector goes one of two ways:
// - the common way (symmetric quantizer, a scale with a normal reciprocal, the float uniform
//   bins usable): codes by the reciprocal, no lane near a code's or a bin's edge and none
//   clipped; then x − Q(x) is exact in float (docs/kernels.md §Statistics pass) and both bins
//   come out of the float values without a conversion;
// - otherwise every lane as the reference computes it: true division, the clamp, the double
//   quotient near a bin edge, NaN codes.
// Each vector's two bins per value are packed into one word (the uniform bin low, the second bin
// shifted left by 16, or by h.joint_shift to make the joint table's cell) and counted while the
// next vector is computed, so the increments overlap the arithmetic.
template <bool kQuantized, bool kSymmetric, bool kJoint>
HWY_INLINE std::int64_t StatsRunLoop(const float* HWY_RESTRICT x,
                                     std::int64_t n,
                                     const StatsRunArgs a,
                                     const StatsHistograms h,
                                     StatsRunResult* result) {
    const hn::ScalableTag<float> df;
    const hn::RebindToSigned<decltype(df)> di;
    const hn::RebindToUnsigned<decltype(df)> du;
    const hn::Half<decltype(df)> dh;
    const hn::Repartition<double, decltype(df)> dd;
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(df));
    const std::int64_t group_len = kQuantized ? a.group_len : n;
    if (group_len <= 0 || n % group_len != 0 || group_len % lanes != 0 ||
        lanes % kStatsHistogramCopies != 0 || lanes % kJointCopies != 0) {
        return 0;  // the caller's scalar loop takes the run
    }
    // Two buffers of packed bins: a vector's words are stored in one and counted an iteration
    // later, while the other receives the next vector's.
    HWY_ALIGN std::uint32_t packed[2][HWY_MAX_BYTES / sizeof(float)];
    int slot = 0;
    bool pending = false;
    const UniformBinner binner(a.lo, a.hi, a.uniform_bins);
    const auto lo = hn::Set(df, binner.lo);
    const auto inv_width = hn::Set(df, binner.inv_width);
    const auto margin = hn::Set(df, binner.edge_margin);
    const auto one_minus_margin = hn::Set(df, 1.0f - binner.edge_margin);
    const auto last_bin = hn::Set(df, static_cast<float>(a.uniform_bins - 1));
    const auto low_16 = hn::Set(du, 0xFFFFu);
    const int second_shift = h.joint_shift;  // the joint table's; unused otherwise
    // Two sets of sums (lower and upper halves) so the additions of a step do not wait on
    // each other.
    Moments<decltype(dd)> low(dd), high(dd);
    // Zero values in the low 32 bits, underflows in the high 32 (one add per vector; a run
    // holds far fewer than 2^32 values).
    std::uint64_t zero_underflow = 0;
    std::int64_t clip_low = 0, clip_high = 0, below = 0, above = 0;
    const auto abs_mask = hn::Set(du, 0x7FFFFFFFu);
    const auto abs_bits_max = hn::Set(du, 0x7F7FFFFFu);  // largest finite |x|
    const auto smallest_normal = hn::Set(du, 0x00800000u);
    const auto qn = hn::Set(df, a.bounds.qn);
    const auto qp = hn::Set(df, a.bounds.qp);
    // q + (2^23 − Qn): the code q − Qn in the low mantissa bits (exact: integers below 2^24).
    const auto code_bias = hn::Set(df, 8388608.0f - a.bounds.qn);
    const auto magic = hn::Set(df, 12582912.0f);       // quant_round_half_even's 1.5 * 2^23
    const auto exact_round = hn::Set(df, 4194304.0f);  // 2^22: quant_stats_element's bound
    const auto half = hn::Set(df, 0.5f);
    const auto code_margin = hn::Set(df, 0x1p-20f);
    const auto fzero = hn::Zero(df);
    const auto none = hn::Set(di, a.second_none);
    const auto min_exponent = hn::Set(di, a.log2_min_exponent);
    const auto max_exponent = hn::Set(di, a.log2_max_exponent);
    // The values done: n, or the start of the first vector with a value the loop does not take.
    std::int64_t done = n;
    // One group at a time: its scale and offset, then its vectors; the sums run on across groups.
    for (std::int64_t g0 = 0; g0 < n && done == n; g0 += group_len) {
        const float s = kQuantized ? a.s[g0 / group_len] : 1.0f;
        const auto vs = hn::Set(df, s);
        const auto vz = hn::Set(df, kQuantized ? a.z[g0 / group_len] : 0.0f);
        const ReciprocalScale reciprocal(s);
        const bool common_way = kQuantized && kSymmetric && reciprocal.ok && binner.float_ok;
        const auto inv_s = hn::Set(df, reciprocal.inv);
        for (std::int64_t i = g0; i < g0 + group_len; i += lanes) {
            const auto v = hn::LoadU(df, x + i);
            const auto bits = hn::BitCast(du, v) & abs_mask;
            auto refused = hn::Gt(bits, abs_bits_max);  // not finite
            if constexpr (!kQuantized) {                // the log2 histogram: subnormals too
                refused = hn::Or(
                    refused, hn::And(hn::Lt(bits, smallest_normal), hn::Ne(bits, hn::Zero(du))));
            }
            if (!hn::AllFalse(du, refused)) {
                done = i;
                break;
            }
            const auto v_low = hn::PromoteTo(dd, hn::LowerHalf(dh, v));
            const auto v_high = hn::PromoteTo(dd, hn::UpperHalf(dh, v));
            low.add(v_low);
            high.add(v_high);
            const auto is_zero = hn::Eq(v, fzero);
            zero_underflow += hn::CountTrue(df, is_zero);
            auto words = hn::Zero(du);  // the vector's packed bins
            bool common = false;
            if constexpr (kQuantized && kSymmetric) {
                if (common_way) {
                    const auto t = v * inv_s;
                    const auto r = hn::CopySign((t + magic) - magic, t);
                    const auto near_half =
                        hn::Gt(hn::MulAdd(hn::Abs(t), code_margin, hn::Abs(t - r)), half);
                    const auto clipped = hn::Or(hn::Lt(r, qn), hn::Gt(r, qp));
                    const auto ub =
                        UniformFloatBins(df, v, lo, inv_width, margin, one_minus_margin);
                    if (hn::AllFalse(df, hn::Or(hn::Or(near_half, clipped), ub.near_edge))) {
                        const auto xq = r * vs;
                        const auto err = v - xq;  // exact: x and Q(x) within a factor of 2
                        low.add_error_of(hn::PromoteTo(dd, hn::LowerHalf(dh, err)));
                        high.add_error_of(hn::PromoteTo(dd, hn::UpperHalf(dh, err)));
                        zero_underflow +=
                            std::uint64_t{hn::CountTrue(df, hn::AndNot(is_zero, hn::Eq(xq, fzero)))}
                            << 32;
                        const auto code = hn::BitCast(du, r + code_bias);
                        const auto uniform = SmallIntegerBits(df, hn::Min(ub.floor_f, last_bin));
                        words = BinWord<kJoint>(du, code, hn::And(uniform, low_16), second_shift);
                        common = true;
                    }
                }
            }
            if (!common) {
                const auto uniform = hn::And(
                    UniformBins(df, v, binner, lo, inv_width, margin, one_minus_margin, last_bin),
                    low_16);
                if constexpr (kQuantized) {
                    const auto t = kSymmetric ? v / vs : v / vs - vz;
                    // quant_stats_element: the unclamped rounded code decides "clipped"; clamping
                    // to the integer code bounds after rounding gives fake quantization's
                    // round(clamp(t)).
                    const auto round_t = hn::CopySign((t + magic) - magic, t);
                    const auto in_range =
                        hn::And(hn::Gt(t, hn::Neg(exact_round)), hn::Lt(t, exact_round));
                    const auto r = hn::IfThenElse(in_range, round_t, t);
                    const auto is_low = hn::Lt(r, qn);
                    const auto is_high = hn::Gt(r, qp);
                    clip_low += static_cast<std::int64_t>(hn::CountTrue(df, is_low));
                    clip_high += static_cast<std::int64_t>(hn::CountTrue(df, is_high));
                    const auto q = hn::IfThenElse(is_low, qn, hn::IfThenElse(is_high, qp, r));
                    const auto xq = kSymmetric ? q * vs : (q + vz) * vs;
                    low.add_error(v_low, hn::PromoteTo(dd, hn::LowerHalf(dh, xq)));
                    high.add_error(v_high, hn::PromoteTo(dd, hn::UpperHalf(dh, xq)));
                    zero_underflow +=
                        std::uint64_t{hn::CountTrue(df, hn::AndNot(is_zero, hn::Eq(xq, fzero)))}
                        << 32;
                    // The code's bin; none for a NaN code (a group whose scale is not finite).
                    const auto code = hn::BitCast(di, q + code_bias);
                    const auto second =
                        hn::IfThenElse(hn::RebindMask(di, hn::Eq(q, q)), code, none);
                    words = BinWord<kJoint>(du, hn::BitCast(du, second), uniform, second_shift);
                } else {
                    const auto e = hn::BitCast(di, hn::ShiftRight<23>(bits)) - hn::Set(di, 127);
                    const auto is_below = hn::Lt(e, min_exponent);
                    const auto is_above = hn::Gt(e, max_exponent);
                    const auto nonzero = hn::Not(hn::RebindMask(di, is_zero));
                    below +=
                        static_cast<std::int64_t>(hn::CountTrue(di, hn::And(is_below, nonzero)));
                    above +=
                        static_cast<std::int64_t>(hn::CountTrue(di, hn::And(is_above, nonzero)));
                    const auto in_bins = hn::AndNot(hn::Or(is_below, is_above), nonzero);
                    const auto second = hn::IfThenElse(in_bins, e - min_exponent, none);
                    words = BinWord<kJoint>(du, hn::BitCast(du, second), uniform, second_shift);
                }
            }
            hn::Store(words, du, packed[slot]);
            slot ^= 1;
            if (pending) {
                if constexpr (kJoint) {
                    CountCells(h, packed[slot], lanes);
                } else {
                    CountBins(h, packed[slot], lanes);
                }
            }
            pending = true;
        }
    }
    if (pending) {
        if constexpr (kJoint) {
            CountCells(h, packed[slot ^ 1], lanes);
        } else {
            CountBins(h, packed[slot ^ 1], lanes);
        }
    }
    low.store_into(dd, result->sums);
    high.store_into(dd, result->sums);
    result->zero += static_cast<std::int64_t>(zero_underflow & 0xFFFFFFFFu);
    result->clip_low += clip_low;
    result->clip_high += clip_high;
    result->underflow += static_cast<std::int64_t>(zero_underflow >> 32);
    result->second_low += below;
    result->second_high += above;
    return done;
}

static std::int64_t StatsRunVector(const float* x,
                                   std::int64_t n,
                                   const StatsRunArgs& a,
                                   const StatsHistograms& h,
                                   StatsRunResult* result) {
    if (h.joint != nullptr) {
        if (!a.quantized) {
            return StatsRunLoop<false, false, true>(x, n, a, h, result);
        }
        return a.symmetric ? StatsRunLoop<true, true, true>(x, n, a, h, result)
                           : StatsRunLoop<true, false, true>(x, n, a, h, result);
    }
    if (!a.quantized) {
        return StatsRunLoop<false, false, false>(x, n, a, h, result);
    }
    return a.symmetric ? StatsRunLoop<true, true, false>(x, n, a, h, result)
                       : StatsRunLoop<true, false, false>(x, n, a, h, result);
}

#endif  // HWY_TARGET == HWY_SCALAR

// simd_stats_drain_joint: per row, the copies' cells are added lane-wise into the row's column
// sums (kept in the joint table's spare row, after the last copy) and summed across the lanes
// for the row's second bin; every cell read is set to 0 again.
static void DrainJointVector(const StatsHistograms& h, int uniform_bins) {
    static_assert(kJointCopies == 4);
    const hn::ScalableTag<std::uint32_t> du;
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(du));
    const std::int64_t width = std::int64_t{1} << h.joint_shift;  // cells per row
    const std::int64_t stride = h.joint_stride;
    const std::int64_t rows = stride >> h.joint_shift;  // second bins and the slot for none
    std::uint32_t* const columns = h.joint + kJointCopies * stride;  // (width,), 0 on entry
    const std::int64_t vector_width = width / lanes * lanes;
    const auto zero = hn::Zero(du);
    for (std::int64_t r = 0; r < rows; ++r) {
        std::uint32_t* const c = h.joint + r * width;  // copy 0 of the row; copy k at c + k·stride
        auto row = zero;
        std::uint64_t row_sum = 0;
        for (std::int64_t b = 0; b < vector_width; b += lanes) {
            const auto cells = hn::Add(
                hn::Add(hn::LoadU(du, c + b), hn::LoadU(du, c + stride + b)),
                hn::Add(hn::LoadU(du, c + 2 * stride + b), hn::LoadU(du, c + 3 * stride + b)));
            row = hn::Add(row, cells);  // < 2^32: every cell of a task counts fewer values
            hn::StoreU(hn::Add(hn::LoadU(du, columns + b), cells), du, columns + b);
            for (int k = 0; k < kJointCopies; ++k) {
                hn::StoreU(zero, du, c + k * stride + b);
            }
        }
        for (std::int64_t b = vector_width; b < width; ++b) {
            std::uint32_t cells = 0;
            for (int k = 0; k < kJointCopies; ++k) {
                cells += c[k * stride + b];
                c[k * stride + b] = 0;
            }
            row_sum += cells;
            columns[b] += cells;
        }
        h.second[r] += static_cast<std::int64_t>(row_sum + hn::GetLane(hn::SumOfLanes(du, row)));
    }
    for (int b = 0; b < uniform_bins; ++b) {
        h.uniform[b] += columns[b];
    }
    std::fill(columns, columns + width, 0u);
}

}  // namespace lowbit::kernels::HWY_NAMESPACE

HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lowbit::kernels {

HWY_EXPORT(StatsRunVector);
HWY_EXPORT(DrainJointVector);

std::int64_t simd_stats_run(const float* x,
                            std::int64_t n,
                            const StatsRunArgs& args,
                            const StatsHistograms& h,
                            StatsRunResult* result) {
    return HWY_DYNAMIC_DISPATCH(StatsRunVector)(x, n, args, h, result);
}

void simd_stats_drain_joint(const StatsHistograms& h, int uniform_bins) {
    HWY_DYNAMIC_DISPATCH(DrainJointVector)(h, uniform_bins);
}

}  // namespace lowbit::kernels
#endif
