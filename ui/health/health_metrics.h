// The metrics the quantization health view maps over layers and steps, each read from one
// statistics row (docs/studio.md §Quantization health; the statistics themselves are defined in
// docs/quantized-pretraining.md §Statistics). One table says every metric's name, unit, how to
// read it from a row and which direction is worse.
#pragma once

#include "lowbit/store/records.h"

#include <optional>
#include <string>
#include <vector>

namespace lowbit::ui {

enum class HealthMetric {
    kSqnr,
    kMse,
    kClip,
    kUnderflow,
    kScaleRange,
    kDynamicRange,
    kAbsmaxOverSigma,
    kKurtosis,
};

struct HealthMetricInfo {
    HealthMetric metric;
    const char* key;   // "sqnr_db", for the command line and settings
    const char* name;  // "SQNR"
    const char* unit;  // "dB"; empty when the metric has none
    bool higher_is_worse;
    bool log_colour;  // spans decades: coloured on a log scale
    double (*value)(const store::TensorStatsRecord& row);
};

// Every metric, in the order the view offers them.
const std::vector<HealthMetricInfo>& health_metrics();
const HealthMetricInfo& health_metric_info(HealthMetric metric);
std::optional<HealthMetric> health_metric_from_key(const std::string& key);

// The metric's value for one row, NaN where the row does not define it (a tensor kept in full
// precision has no SQNR; a constant tensor no kurtosis).
double health_metric_value(const store::TensorStatsRecord& row, HealthMetric metric);

// Whether `a` is worse than `b` for this metric; NaN is never worse than anything.
bool health_worse(HealthMetric metric, double a, double b);

// "SQNR (dB)", "kurtosis".
std::string health_metric_label(HealthMetric metric);

}  // namespace lowbit::ui
