// The vector loop of quant_stats_simd.h (Highway: foreach_target re-includes this file per SIMD
// target; HWY_DYNAMIC_DISPATCH picks the host's best). Values are processed Lanes(float) at a
// time: the quantizer and the bins in float, the moments in double, one half-vector at a time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/quant_stats_simd.cpp"
#include "cpu/quant_stats_simd.h"

#include <cmath>

#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();

namespace lowbit::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR
// One lane has no halves to widen: the caller's scalar loop takes every run.
static bool StatsRunVector(
    const float*, std::int64_t, const StatsRunArgs&, std::uint32_t*, StatsRunResult*) {
    return false;
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

template <class DF, class V>
HWY_INLINE hn::Vec<hn::RebindToSigned<DF>> UniformBins(DF df,
                                                       V v,
                                                       const UniformBinner& u,
                                                       V lo,
                                                       V inv_width,
                                                       V margin,
                                                       V one_minus_margin,
                                                       hn::Vec<hn::RebindToSigned<DF>> last_bin) {
    const hn::RebindToSigned<DF> di;
    if (u.constant) {
        return hn::Zero(di);
    }
    if (u.float_ok) {
        const auto f = (v - lo) * inv_width;
        const auto floor_f = hn::Floor(f);
        const auto frac = f - floor_f;
        const auto near_edge = hn::Or(hn::Lt(frac, margin), hn::Gt(frac, one_minus_margin));
        if (hn::AllFalse(df, near_edge)) {
            return hn::Min(hn::ConvertTo(di, floor_f), last_bin);  // f >= 0: x >= lo
        }
    }
    // stats_uniform_bin's double expression, truncated (t >= 0), clamped to the bins.
    const hn::Half<DF> dh;
    const hn::Repartition<double, DF> dd;
    const hn::Rebind<std::int32_t, decltype(dd)> dih;
    const auto bin_of = [&](auto half) {
        const auto t = ((hn::PromoteTo(dd, half) - hn::Set(dd, u.lo_d)) * hn::Set(dd, u.bins_d)) /
                       hn::Set(dd, u.range_d);
        return hn::DemoteTo(dih, t);
    };
    const auto bins_v = hn::Combine(di, bin_of(hn::UpperHalf(dh, v)), bin_of(hn::LowerHalf(dh, v)));
    return hn::Min(hn::Max(bins_v, hn::Zero(di)), last_bin);
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
        const auto err = v - xq;
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

// The loop, with the quantizer's options as template parameters so that no option is tested
// (or reloaded from `a` after a store) per vector.
template <bool kQuantized, bool kSymmetric>
HWY_INLINE bool StatsRunLoop(const float* HWY_RESTRICT x,
                             std::int64_t n,
                             const StatsRunArgs a,
                             std::uint32_t* HWY_RESTRICT bins,
                             StatsRunResult* result) {
    const hn::ScalableTag<float> df;
    const hn::RebindToSigned<decltype(df)> di;
    const hn::RebindToUnsigned<decltype(df)> du;
    const hn::Half<decltype(df)> dh;
    const hn::Repartition<double, decltype(df)> dd;
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(df));
    const std::int64_t group_len = kQuantized ? a.group_len : n;
    if (group_len <= 0 || n % group_len != 0 || group_len % lanes != 0) {
        return false;  // the caller's scalar loop takes the run
    }
    const UniformBinner binner(a.lo, a.hi, a.uniform_bins);
    const auto lo = hn::Set(df, binner.lo);
    const auto inv_width = hn::Set(df, binner.inv_width);
    const auto margin = hn::Set(df, binner.edge_margin);
    const auto one_minus_margin = hn::Set(df, 1.0f - binner.edge_margin);
    const auto last_bin = hn::Set(di, a.uniform_bins - 1);
    // Two sets of sums (lower and upper halves) so the additions of a step do not wait on
    // each other.
    Moments<decltype(dd)> low(dd), high(dd);
    std::int64_t zero = 0, clip_low = 0, clip_high = 0, underflow = 0, below = 0, above = 0;
    const auto abs_mask = hn::Set(du, 0x7FFFFFFFu);
    const auto abs_bits_max = hn::Set(du, 0x7F7FFFFFu);  // largest finite |x|
    const auto smallest_normal = hn::Set(du, 0x00800000u);
    auto bad = hn::Lt(hn::Zero(du), hn::Zero(du));  // any value not finite (or subnormal, log2)
    const auto qn = hn::Set(df, a.bounds.qn);
    const auto qp = hn::Set(df, a.bounds.qp);
    const auto magic = hn::Set(df, 12582912.0f);       // quant_round_half_even's 1.5 * 2^23
    const auto exact_round = hn::Set(df, 4194304.0f);  // 2^22: quant_stats_element's bound
    const auto fzero = hn::Zero(df);
    const auto none = hn::Set(di, a.second_none);
    const auto min_exponent = hn::Set(di, a.log2_min_exponent);
    const auto max_exponent = hn::Set(di, a.log2_max_exponent);
    // One group at a time: its scale and offset, then its vectors; the sums run on across groups.
    for (std::int64_t g0 = 0; g0 < n; g0 += group_len) {
        const auto vs = hn::Set(df, kQuantized ? a.s[g0 / group_len] : 1.0f);
        const auto vz = hn::Set(df, kQuantized ? a.z[g0 / group_len] : 0.0f);
        for (std::int64_t i = g0; i < g0 + group_len; i += lanes) {
            const auto v = hn::LoadU(df, x + i);
            const auto bits = hn::BitCast(du, v) & abs_mask;
            bad = hn::Or(bad, hn::Gt(bits, abs_bits_max));
            const auto v_low = hn::PromoteTo(dd, hn::LowerHalf(dh, v));
            const auto v_high = hn::PromoteTo(dd, hn::UpperHalf(dh, v));
            low.add(v_low);
            high.add(v_high);
            const auto is_zero = hn::Eq(v, fzero);
            zero += static_cast<std::int64_t>(hn::CountTrue(df, is_zero));
            const auto uniform =
                UniformBins(df, v, binner, lo, inv_width, margin, one_minus_margin, last_bin);
            if constexpr (kQuantized) {
                const auto t = kSymmetric ? v / vs : v / vs - vz;
                // quant_stats_element: the unclamped rounded code decides "clipped"; clamping to
                // the integer code bounds after rounding gives fake quantization's round(clamp(t)).
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
                underflow += static_cast<std::int64_t>(
                    hn::CountTrue(df, hn::AndNot(is_zero, hn::Eq(xq, fzero))));
                // The code's bin; none for a NaN code (a group whose scale is not finite).
                const auto code = hn::ConvertTo(di, q - qn);
                const auto second = hn::IfThenElse(hn::RebindMask(di, hn::Eq(q, q)), code, none);
                hn::StoreU(
                    hn::BitCast(du, hn::Or(hn::ShiftLeft<16>(second), uniform)), du, bins + i);
            } else {
                bad =
                    hn::Or(bad, hn::And(hn::Lt(bits, smallest_normal), hn::Ne(bits, hn::Zero(du))));
                const auto e = hn::BitCast(di, hn::ShiftRight<23>(bits)) - hn::Set(di, 127);
                const auto is_below = hn::Lt(e, min_exponent);
                const auto is_above = hn::Gt(e, max_exponent);
                const auto nonzero = hn::Not(hn::RebindMask(di, is_zero));
                below += static_cast<std::int64_t>(hn::CountTrue(di, hn::And(is_below, nonzero)));
                above += static_cast<std::int64_t>(hn::CountTrue(di, hn::And(is_above, nonzero)));
                const auto in_bins = hn::AndNot(hn::Or(is_below, is_above), nonzero);
                const auto second = hn::IfThenElse(in_bins, e - min_exponent, none);
                hn::StoreU(
                    hn::BitCast(du, hn::Or(hn::ShiftLeft<16>(second), uniform)), du, bins + i);
            }
        }
    }
    if (!hn::AllFalse(du, bad)) {
        return false;
    }
    low.store_into(dd, result->sums);
    high.store_into(dd, result->sums);
    result->zero += zero;
    result->clip_low += clip_low;
    result->clip_high += clip_high;
    result->underflow += underflow;
    result->second_low += below;
    result->second_high += above;
    return true;
}

static bool StatsRunVector(const float* x,
                           std::int64_t n,
                           const StatsRunArgs& a,
                           std::uint32_t* bins,
                           StatsRunResult* result) {
    if (!a.quantized) {
        return StatsRunLoop<false, false>(x, n, a, bins, result);
    }
    return a.symmetric ? StatsRunLoop<true, true>(x, n, a, bins, result)
                       : StatsRunLoop<true, false>(x, n, a, bins, result);
}

#endif  // HWY_TARGET == HWY_SCALAR

}  // namespace lowbit::kernels::HWY_NAMESPACE

HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lowbit::kernels {

HWY_EXPORT(StatsRunVector);

bool simd_stats_run(const float* x,
                    std::int64_t n,
                    const StatsRunArgs& args,
                    std::uint32_t* bins,
                    StatsRunResult* result) {
    return HWY_DYNAMIC_DISPATCH(StatsRunVector)(x, n, args, bins, result);
}

}  // namespace lowbit::kernels
#endif
