// quant_stats_ref: the scalar, obviously-correct quantization statistics that the CPU-parallel and
// CUDA paths are tested against. Scales by docs/quantized-pretraining.md §Symmetric and
// asymmetric scales written out per grid (as fake_quant_ref does, with no shared helper), then one
// loop over x in index order, sums in double.
#include "lowbit/kernels/counter_hash.h"
#include "lowbit/kernels/quant_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/fake_quant_layout.h"

namespace lowbit::kernels {
namespace {

// One group's quantizer: x^ = (q + offset)*s with the pre-clamp code t = x/s - offset.
struct RefGroup {
    float s;
    float offset;  // z (reference grid), -zp (full grid), 0 (symmetric)
};

struct RefGrid {
    float qn;
    float qp;
};

// The integer range is the format table's (code_range, pinned by its static_asserts); the scale
// and rounding arithmetic below stays written out.
RefGrid ref_grid(const FakeQuantParams& p) {
    const CodeRange r = code_range(p.grid, p.bits, p.symmetric, p.is_signed);
    return {static_cast<float>(r.qn), static_cast<float>(r.qp)};
}

// Range of x[begin, end) ignoring NaN (±Inf included, as in fake quantization); a group of only
// NaN has the range [0, 0].
RefGroup ref_group(const float* x, std::int64_t begin, std::int64_t end, const FakeQuantParams& p) {
    const RefGrid g = ref_grid(p);
    float lo = 0.0f;
    float hi = 0.0f;
    float absmax = 0.0f;
    bool any = false;
    for (std::int64_t i = begin; i < end; ++i) {
        if (std::isnan(x[i])) {
            continue;
        }
        absmax = std::max(absmax, std::fabs(x[i]));
        lo = any ? std::min(lo, x[i]) : x[i];
        hi = any ? std::max(hi, x[i]) : x[i];
        any = true;
    }
    if (p.symmetric) {
        return {std::max(absmax, p.min_range) / g.qp, 0.0f};  // s = max(max|x|, r_min) / Qp
    }
    if (p.grid == QuantGrid::kReference) {
        const float s = std::max(hi - lo, p.min_range) / (2.0f * g.qp);  // (max-min)/(2*Qp)
        return {s, std::nearbyint(lo / s - g.qn)};                       // z = round(min/s - Qn)
    }
    const float s = std::max(hi - lo, p.min_range) / g.qp;  // (max-min)/(2^b - 1)
    return {s, -std::nearbyint(-lo / s)};                   // zp = round(-min/s); offset = -zp
}

}  // namespace

Status quant_stats_ref(const float* x,
                       std::int64_t rows,
                       std::int64_t cols,
                       const FakeQuantParams* params,
                       const QuantStatsSpec& spec,
                       QuantStats* stats,
                       std::int64_t* uniform_counts,
                       std::int64_t* second_counts) {
    const Status status = quant_stats_check_args(spec, params, rows, cols);
    if (status != Status::kOk) {
        return status;
    }
    const std::int64_t n = rows * cols;
    if (stats == nullptr || uniform_counts == nullptr || second_counts == nullptr ||
        (x == nullptr && n > 0)) {
        return Status::kBadArgument;
    }
    const int second_bins = quant_stats_second_bins(spec, params);
    std::fill(uniform_counts, uniform_counts + spec.uniform_bins, 0);
    std::fill(second_counts, second_counts + second_bins, 0);

    // Scales of every group.
    std::vector<RefGroup> groups;
    std::int64_t group_len = n;
    if (params != nullptr) {
        const FakeQuantLayout layout = fake_quant_layout(*params, rows, cols);
        group_len = layout.group_len;
        for (std::int64_t grp = 0; grp < layout.num_groups; ++grp) {
            groups.push_back(ref_group(x, grp * group_len, (grp + 1) * group_len, *params));
        }
    }

    // The finite range, which the uniform histogram spans.
    QuantStats s;
    s.n = n;
    bool any_finite = false;
    for (std::int64_t i = 0; i < n; ++i) {
        if (std::isfinite(x[i])) {
            s.min = any_finite ? std::min(s.min, x[i]) : x[i];
            s.max = any_finite ? std::max(s.max, x[i]) : x[i];
            any_finite = true;
        }
    }
    const double lo = s.min;
    const double hi = s.max;
    const int bins = spec.uniform_bins;

    for (std::int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        if (std::isnan(v)) {
            ++s.nan_count;
            continue;
        }
        if (std::isinf(v)) {
            ++s.inf_count;
            continue;
        }
        s.zero_count += v == 0.0f ? 1 : 0;
        const double vd = v;
        s.sum += vd;
        s.sumsq += vd * vd;
        s.sum_cube += vd * vd * vd;
        s.sum_quad += vd * vd * vd * vd;
        // Uniform bin: floor((x - lo) * bins / (hi - lo)), x == hi in the last bin.
        double t = hi > lo ? std::floor((vd - lo) * bins / (hi - lo)) : 0.0;
        t = std::min(t, static_cast<double>(bins - 1));
        ++uniform_counts[static_cast<std::int64_t>(t)];

        if (params == nullptr) {  // log2-magnitude bins; zeros only in zero_count
            if (v != 0.0f) {
                const int e = std::ilogb(v);  // floor(log2|v|), subnormals included
                if (e < spec.log2_min_exponent) {
                    ++s.second_low;
                } else if (e > spec.log2_max_exponent) {
                    ++s.second_high;
                } else {
                    ++second_counts[e - spec.log2_min_exponent];
                }
            }
            continue;
        }
        const RefGrid g = ref_grid(*params);
        const RefGroup& grp = groups[static_cast<std::size_t>(i / group_len)];
        // Pre-clamp code; symmetric written without the offset so -0 behaves as fake_quant_ref.
        const float code = params->symmetric ? v / grp.s : v / grp.s - grp.offset;
        const float unclamped = std::nearbyint(code);  // the code the clamp would change
        if (unclamped < g.qn) {
            ++s.clipped_low;
        } else if (unclamped > g.qp) {
            ++s.clipped_high;
        }
        const float c = std::clamp(code, g.qn, g.qp);
        float q = 0.0f;
        if (params->rounding == Rounding::kNearest) {
            q = std::nearbyint(c);  // round half to even
        } else {
            const float u = counter_hash_uniform(params->seed, static_cast<std::uint64_t>(i));
            q = std::min(std::floor(c + u), g.qp);
        }
        const float xq = params->symmetric ? q * grp.s : (q + grp.offset) * grp.s;
        const double err = vd - static_cast<double>(xq);
        s.error_sumsq += err * err;
        s.underflow_count += (v != 0.0f && xq == 0.0f) ? 1 : 0;
        if (!std::isnan(q)) {  // NaN only in a group whose range is infinite
            ++second_counts[static_cast<std::int64_t>(q - g.qn)];
        }
    }
    if (!any_finite) {
        s.min = std::numeric_limits<float>::quiet_NaN();
        s.max = std::numeric_limits<float>::quiet_NaN();
    }
    if (!groups.empty()) {
        s.scale_min = groups[0].s;
        s.scale_max = groups[0].s;
        for (const RefGroup& grp : groups) {
            s.scale_min = std::min(s.scale_min, grp.s);
            s.scale_max = std::max(s.scale_max, grp.s);
        }
    }
    *stats = s;
    return Status::kOk;
}

}  // namespace lowbit::kernels
