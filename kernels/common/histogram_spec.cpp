// HistogramSpec builders, bin counts and the argument checks shared by all tensor_stats paths.
#include "lowbit/kernels/tensor_stats.h"

#include <cmath>

#include "common/tensor_stats_args.h"

namespace lowbit::kernels {

HistogramSpec histogram_uniform(int bins, double lo, double hi) {
    HistogramSpec spec;
    spec.scheme = HistogramScheme::kUniform;
    spec.bins = bins;
    spec.lo = lo;
    spec.hi = hi;
    return spec;
}

HistogramSpec histogram_log2(int min_exponent, int max_exponent) {
    HistogramSpec spec;
    spec.scheme = HistogramScheme::kLog2Magnitude;
    spec.min_exponent = min_exponent;
    spec.max_exponent = max_exponent;
    return spec;
}

int histogram_bin_count(const HistogramSpec& spec) {
    if (spec.scheme == HistogramScheme::kLog2Magnitude) {
        return spec.max_exponent - spec.min_exponent + 1;
    }
    return spec.bins;
}

Status tensor_stats_check_args(const float* x,
                               std::int64_t n,
                               const HistogramSpec& spec,
                               const TensorStats* stats,
                               const std::int64_t* counts) {
    if (n < 0) {
        return Status::kBadShape;
    }
    if (stats == nullptr || (x == nullptr && n > 0)) {
        return Status::kBadArgument;
    }
    if (spec.scheme == HistogramScheme::kUniform) {
        if (spec.bins < 0 || spec.bins > kMaxHistogramBins) {
            return Status::kBadArgument;
        }
        if (spec.bins > 0 &&
            !(std::isfinite(spec.lo) && std::isfinite(spec.hi) && spec.lo < spec.hi)) {
            return Status::kBadArgument;
        }
    } else if (spec.scheme == HistogramScheme::kLog2Magnitude) {
        // Exponents of finite floats lie in [-149, 127]; a wider range only adds empty bins.
        if (spec.min_exponent > spec.max_exponent || spec.min_exponent < -1000 ||
            spec.max_exponent > 1000) {
            return Status::kBadArgument;
        }
    } else {
        return Status::kBadArgument;
    }
    if (histogram_bin_count(spec) > 0 && counts == nullptr) {
        return Status::kBadArgument;
    }
    return Status::kOk;
}

}  // namespace lowbit::kernels
