// The vector loop of quant_stats_simd.h (Highway: foreach_target re-includes this file per SIMD
// target; HWY_DYNAMIC_DISPATCH picks the host's best). Values are processed Lanes(double) at a
// time: floats as a half-width vector for the quantizer, widened to double for the moments.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/quant_stats_simd.cpp"
#include "cpu/quant_stats_simd.h"

#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();

namespace lowbit::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

static bool StatsRunVector(const float* x,
                           std::int64_t n,
                           const StatsRunArgs& a,
                           std::int32_t* uniform_bin,
                           std::int32_t* second_bin,
                           StatsRunResult* result) {
    const hn::ScalableTag<double> dd;
    const hn::Rebind<float, decltype(dd)> df;
    const hn::Rebind<std::int32_t, decltype(dd)> di;
    const hn::Rebind<std::uint32_t, decltype(dd)> du;
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(dd));
    if (n % lanes != 0) {
        return false;  // the caller's scalar loop takes the tail
    }
    // Finite (and, for the log2 scheme, not subnormal) everywhere, checked first: nothing is
    // written unless the whole run qualifies.
    const auto abs_bits_max = hn::Set(du, 0x7F7FFFFFu);  // largest finite |x|
    for (std::int64_t i = 0; i < n; i += lanes) {
        const auto bits = hn::BitCast(du, hn::LoadU(df, x + i)) & hn::Set(du, 0x7FFFFFFFu);
        auto bad = hn::Gt(bits, abs_bits_max);
        if (!a.quantized) {
            bad = hn::Or(
                bad, hn::And(hn::Lt(bits, hn::Set(du, 0x00800000u)), hn::Ne(bits, hn::Zero(du))));
        }
        if (!hn::AllFalse(du, bad)) {
            return false;
        }
    }
    auto sum = hn::Zero(dd);
    auto sumsq = hn::Zero(dd);
    auto cube = hn::Zero(dd);
    auto quad = hn::Zero(dd);
    auto err_sq = hn::Zero(dd);
    std::int64_t zero = 0, clip_low = 0, clip_high = 0, underflow = 0, low = 0, high = 0;
    const auto lo = hn::Set(dd, a.lo);
    const auto bins = hn::Set(dd, static_cast<double>(a.uniform_bins));
    const auto range = hn::Set(dd, a.hi - a.lo);
    const bool constant = !(a.hi > a.lo);
    const auto last_bin = hn::Set(di, a.uniform_bins - 1);
    const auto vs = hn::Set(df, a.s);
    const auto vz = hn::Set(df, a.z);
    const auto qn = hn::Set(df, a.bounds.qn);
    const auto qp = hn::Set(df, a.bounds.qp);
    const auto magic = hn::Set(df, 12582912.0f);       // quant_round_half_even's 1.5 * 2^23
    const auto exact_round = hn::Set(df, 4194304.0f);  // 2^22: quant_stats_element's bound
    const auto fzero = hn::Zero(df);
    for (std::int64_t i = 0; i < n; i += lanes) {
        const auto v = hn::LoadU(df, x + i);
        const auto vd = hn::PromoteTo(dd, v);
        const auto v2 = vd * vd;
        sum = sum + vd;
        sumsq = sumsq + v2;
        cube = cube + v2 * vd;
        quad = quad + v2 * v2;
        const auto is_zero = hn::Eq(v, fzero);
        zero += static_cast<std::int64_t>(hn::CountTrue(df, is_zero));
        // stats_uniform_bin: ((x - lo) * bins) / (hi - lo), truncated, clamped to the bins.
        auto bin = hn::Zero(di);
        if (!constant) {
            bin = hn::DemoteTo(di, ((vd - lo) * bins) / range);
            bin = hn::Min(hn::Max(bin, hn::Zero(di)), last_bin);
        }
        hn::StoreU(bin, di, uniform_bin + i);
        if (a.quantized) {
            const auto t = a.symmetric ? v / vs : v / vs - vz;
            // quant_stats_element: the unclamped rounded code decides "clipped".
            const auto round_t = hn::CopySign((t + magic) - magic, t);
            const auto in_range = hn::And(hn::Gt(t, hn::Neg(exact_round)), hn::Lt(t, exact_round));
            const auto r = hn::IfThenElse(in_range, round_t, t);
            clip_low += static_cast<std::int64_t>(hn::CountTrue(df, hn::Lt(r, qn)));
            clip_high += static_cast<std::int64_t>(hn::CountTrue(df, hn::Gt(r, qp)));
            const auto c = hn::IfThenElse(hn::Lt(t, qn), qn, hn::IfThenElse(hn::Lt(qp, t), qp, t));
            const auto q = hn::CopySign((c + magic) - magic, c);
            const auto xq = a.symmetric ? q * vs : (q + vz) * vs;
            const auto err = vd - hn::PromoteTo(dd, xq);
            err_sq = err_sq + err * err;
            underflow += static_cast<std::int64_t>(
                hn::CountTrue(df, hn::AndNot(is_zero, hn::Eq(xq, fzero))));
            // The code's bin; none for a NaN code (a group whose scale is not finite).
            const auto code = hn::IfThenElse(hn::Eq(q, q), q - qn, hn::Set(df, -1.0f));
            hn::StoreU(hn::ConvertTo(di, code), di, second_bin + i);
        } else {
            const auto bits = hn::BitCast(du, v) & hn::Set(du, 0x7FFFFFFFu);
            const auto e = hn::BitCast(di, hn::ShiftRight<23>(bits)) - hn::Set(di, 127);
            const auto below = hn::Lt(e, hn::Set(di, a.log2_min_exponent));
            const auto above = hn::Gt(e, hn::Set(di, a.log2_max_exponent));
            const auto nonzero = hn::Not(hn::RebindMask(di, is_zero));
            low += static_cast<std::int64_t>(hn::CountTrue(di, hn::And(below, nonzero)));
            high += static_cast<std::int64_t>(hn::CountTrue(di, hn::And(above, nonzero)));
            const auto in_bins = hn::AndNot(hn::Or(below, above), nonzero);
            hn::StoreU(
                hn::IfThenElse(in_bins, e - hn::Set(di, a.log2_min_exponent), hn::Set(di, -1)),
                di,
                second_bin + i);
        }
    }
    result->sums.sum += hn::GetLane(hn::SumOfLanes(dd, sum));
    result->sums.sumsq += hn::GetLane(hn::SumOfLanes(dd, sumsq));
    result->sums.sum_cube += hn::GetLane(hn::SumOfLanes(dd, cube));
    result->sums.sum_quad += hn::GetLane(hn::SumOfLanes(dd, quad));
    result->sums.error_sumsq += hn::GetLane(hn::SumOfLanes(dd, err_sq));
    result->zero += zero;
    result->clip_low += clip_low;
    result->clip_high += clip_high;
    result->underflow += underflow;
    result->second_low += low;
    result->second_high += high;
    return true;
}

}  // namespace lowbit::kernels::HWY_NAMESPACE

HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lowbit::kernels {

HWY_EXPORT(StatsRunVector);

bool simd_stats_run(const float* x,
                    std::int64_t n,
                    const StatsRunArgs& args,
                    std::int32_t* uniform_bin,
                    std::int32_t* second_bin,
                    StatsRunResult* result) {
    return HWY_DYNAMIC_DISPATCH(StatsRunVector)(x, n, args, uniform_bin, second_bin, result);
}

}  // namespace lowbit::kernels
#endif
