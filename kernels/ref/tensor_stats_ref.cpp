// tensor_stats_ref: the scalar, obviously-correct statistics + histogram pass that the CPU-parallel
// and CUDA paths are tested against. One loop in index order; sums in double.
#include "lowbit/kernels/tensor_stats.h"

#include <cmath>
#include <limits>

#include "common/tensor_stats_args.h"

namespace lowbit::kernels {

Status tensor_stats_ref(const float* x,
                        std::int64_t n,
                        const HistogramSpec& spec,
                        TensorStats* stats,
                        std::int64_t* counts) {
    const Status status = tensor_stats_check_args(x, n, spec, stats, counts);
    if (status != Status::kOk) {
        return status;
    }
    const int bins = histogram_bin_count(spec);
    for (int b = 0; b < bins; ++b) {
        counts[b] = 0;
    }
    TensorStats s;
    s.n = n;
    bool any_finite = false;
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
        if (v == 0.0f) {
            ++s.zero_count;
        }
        if (!any_finite) {
            s.min = v;
            s.max = v;
            any_finite = true;
        } else {
            s.min = v < s.min ? v : s.min;
            s.max = v > s.max ? v : s.max;
        }
        s.sum += static_cast<double>(v);
        s.sumsq += static_cast<double>(v) * static_cast<double>(v);
        if (bins == 0) {
            continue;
        }
        if (spec.scheme == HistogramScheme::kUniform) {
            const double xd = static_cast<double>(v);
            if (xd < spec.lo) {
                ++s.clipped_low;
            } else if (xd > spec.hi) {
                ++s.clipped_high;
            } else {
                // Written out literally; the same double expression as stats_uniform_bin.
                double t =
                    std::floor((xd - spec.lo) * static_cast<double>(bins) / (spec.hi - spec.lo));
                if (t > static_cast<double>(bins - 1)) {
                    t = static_cast<double>(bins - 1);  // x == hi belongs to the last bin
                }
                ++counts[static_cast<std::int64_t>(t)];
            }
        } else if (v != 0.0f) {           // log2 magnitude: zeros are only counted in zero_count
            const int e = std::ilogb(v);  // floor(log2|v|), exact for normals and subnormals
            if (e < spec.min_exponent) {
                ++s.clipped_low;
            } else if (e > spec.max_exponent) {
                ++s.clipped_high;
            } else {
                ++counts[e - spec.min_exponent];
            }
        }
    }
    if (!any_finite) {
        s.min = std::numeric_limits<float>::quiet_NaN();
        s.max = std::numeric_limits<float>::quiet_NaN();
    }
    *stats = s;
    return Status::kOk;
}

}  // namespace lowbit::kernels
