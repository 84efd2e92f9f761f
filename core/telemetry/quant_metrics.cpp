// quant_metrics: SQNR, MSE, fractions, σ, absmax/σ and kurtosis from the statistics pass.
#include "lowbit/telemetry/quant_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lowbit::telemetry {

QuantMetrics quant_metrics(const kernels::QuantStats& s, bool quantized) {
    constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
    QuantMetrics m;
    m.finite = s.n - s.nan_count - s.inf_count;
    if (m.finite <= 0) {
        m.mean = m.stddev = m.sqnr_db = m.mse = m.clip_fraction = m.underflow_fraction = kNan;
        m.absmax_over_sigma = m.kurtosis = kNan;
        return m;
    }
    const double n = static_cast<double>(m.finite);
    const double mu = s.sum / n;
    const double e2 = s.sumsq / n;
    const double e3 = s.sum_cube / n;
    const double e4 = s.sum_quad / n;
    const double m2 = std::max(e2 - mu * mu, 0.0);  // rounding may make it slightly negative
    const double m4 = e4 - 4.0 * mu * e3 + 6.0 * mu * mu * e2 - 3.0 * mu * mu * mu * mu;
    m.mean = mu;
    m.stddev = std::sqrt(m2);
    const double absmax =
        std::max(std::fabs(static_cast<double>(s.min)), std::fabs(static_cast<double>(s.max)));
    m.absmax_over_sigma = m2 > 0.0 ? absmax / m.stddev : kNan;
    m.kurtosis = m2 > 0.0 ? std::max(m4, 0.0) / (m2 * m2) : kNan;
    if (!quantized) {
        m.sqnr_db = m.mse = m.clip_fraction = m.underflow_fraction = kNan;
        return m;
    }
    if (s.error_sumsq > 0.0) {
        m.sqnr_db = 10.0 * std::log10(s.sumsq / s.error_sumsq);
    } else {
        m.sqnr_db = s.sumsq > 0.0 ? std::numeric_limits<double>::infinity() : kNan;
    }
    m.mse = s.error_sumsq / n;
    m.clip_fraction = static_cast<double>(s.clipped_low + s.clipped_high) / n;
    m.underflow_fraction = static_cast<double>(s.underflow_count) / n;
    return m;
}

}  // namespace lowbit::telemetry
