#include "compare/group_curves.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace lowbit::ui {

SampleStats sample_stats(std::span<const double> values) {
    std::vector<double> finite;
    finite.reserve(values.size());
    for (double v : values) {
        if (std::isfinite(v)) {
            finite.push_back(v);
        }
    }
    SampleStats stats;
    stats.n = static_cast<int>(finite.size());
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (finite.empty()) {
        stats.mean = stats.median = stats.sd = stats.sem = stats.min = stats.max = nan;
        return stats;
    }
    std::sort(finite.begin(), finite.end());
    const size_t n = finite.size();
    double sum = 0;
    for (double v : finite) {
        sum += v;
    }
    stats.mean = sum / static_cast<double>(n);
    stats.median = n % 2 == 1 ? finite[n / 2] : 0.5 * (finite[n / 2 - 1] + finite[n / 2]);
    stats.min = finite.front();
    stats.max = finite.back();
    if (n < 2) {
        stats.sd = stats.sem = nan;
        return stats;
    }
    double squares = 0;
    for (double v : finite) {
        squares += (v - stats.mean) * (v - stats.mean);
    }
    stats.sd = std::sqrt(squares / static_cast<double>(n - 1));
    stats.sem = stats.sd / std::sqrt(static_cast<double>(n));
    return stats;
}

std::vector<BandPoint> group_curve(const std::vector<StepSeries>& members,
                                   GroupCentre centre,
                                   GroupBand band) {
    std::map<int64_t, std::vector<double>> by_step;
    for (const StepSeries& series : members) {
        for (const auto& [step, value] : series) {
            if (std::isfinite(value)) {
                by_step[step].push_back(value);
            }
        }
    }
    std::vector<BandPoint> curve;
    curve.reserve(by_step.size());
    for (const auto& [step, values] : by_step) {
        const SampleStats stats = sample_stats(values);
        BandPoint point;
        point.step = step;
        point.n = stats.n;
        point.centre = centre == GroupCentre::kMean ? stats.mean : stats.median;
        double half_width = 0;
        switch (band) {
            case GroupBand::kMinMax:
                point.lo = stats.min;
                point.hi = stats.max;
                curve.push_back(point);
                continue;
            case GroupBand::kStdDev:
                half_width = stats.sd;
                break;
            case GroupBand::kStdError:
                half_width = stats.sem;
                break;
        }
        if (!std::isfinite(half_width)) {
            half_width = 0;
        }
        point.lo = point.centre - half_width;
        point.hi = point.centre + half_width;
        curve.push_back(point);
    }
    return curve;
}

}  // namespace lowbit::ui
