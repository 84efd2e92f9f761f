#include "health/health_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lowbit::ui {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

double sqnr(const store::TensorStatsRecord& row) {
    return row.sqnr_db;
}

double mse(const store::TensorStatsRecord& row) {
    return row.mse;
}

double clipPercent(const store::TensorStatsRecord& row) {
    return 100.0 * row.clip_fraction;
}

double underflowPercent(const store::TensorStatsRecord& row) {
    return 100.0 * row.underflow_fraction;
}

// Largest over smallest per-group scale: 1 for one scale; how unevenly the groups are scaled.
double scaleRange(const store::TensorStatsRecord& row) {
    if (!(row.scale_min > 0) || !std::isfinite(row.scale_max)) {
        return kNan;
    }
    return row.scale_max / row.scale_min;
}

// min and max are over the finite values; with none of those both are meaningless.
double dynamicRange(const store::TensorStatsRecord& row) {
    if (row.n - row.nan_count - row.inf_count <= 0) {
        return kNan;
    }
    return row.max - row.min;
}

double absmaxOverSigma(const store::TensorStatsRecord& row) {
    return row.absmax_over_sigma;
}

double kurtosis(const store::TensorStatsRecord& row) {
    return row.kurtosis;
}

}  // namespace

const std::vector<HealthMetricInfo>& health_metrics() {
    static const std::vector<HealthMetricInfo> metrics = {
        {HealthMetric::kSqnr, "sqnr_db", "SQNR", "dB", false, false, sqnr},
        {HealthMetric::kMse, "mse", "MSE", "value²", true, true, mse},
        {HealthMetric::kClip, "clip", "clipped", "%", true, false, clipPercent},
        {HealthMetric::kUnderflow, "underflow", "underflow", "%", true, false, underflowPercent},
        {HealthMetric::kScaleRange, "scale_range", "scale range", "×", true, true, scaleRange},
        {HealthMetric::kDynamicRange,
         "dynamic_range",
         "dynamic range",
         "value",
         true,
         false,
         dynamicRange},
        {HealthMetric::kAbsmaxOverSigma,
         "absmax_over_sigma",
         "absmax/σ",
         "σ",
         true,
         false,
         absmaxOverSigma},
        {HealthMetric::kKurtosis, "kurtosis", "kurtosis", "", true, false, kurtosis},
    };
    return metrics;
}

const HealthMetricInfo& health_metric_info(HealthMetric metric) {
    const auto& metrics = health_metrics();
    return *std::find_if(metrics.begin(), metrics.end(), [metric](const HealthMetricInfo& info) {
        return info.metric == metric;
    });
}

std::optional<HealthMetric> health_metric_from_key(const std::string& key) {
    for (const auto& info : health_metrics()) {
        if (key == info.key) {
            return info.metric;
        }
    }
    return std::nullopt;
}

double health_metric_value(const store::TensorStatsRecord& row, HealthMetric metric) {
    return health_metric_info(metric).value(row);
}

bool health_worse(HealthMetric metric, double a, double b) {
    if (std::isnan(a)) {
        return false;
    }
    if (std::isnan(b)) {
        return true;
    }
    return health_metric_info(metric).higher_is_worse ? a > b : a < b;
}

std::string health_metric_label(HealthMetric metric) {
    const auto& info = health_metric_info(metric);
    std::string label = info.name;
    if (info.unit[0] != '\0') {
        label += std::string(" (") + info.unit + ")";
    }
    return label;
}

}  // namespace lowbit::ui
