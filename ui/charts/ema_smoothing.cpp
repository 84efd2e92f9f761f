#include "charts/ema_smoothing.h"

#include <algorithm>
#include <cmath>

namespace lowbit::ui {

std::vector<double> smooth_debiased_ema(std::span<const double> values, double weight) {
    std::vector<double> smoothed(values.begin(), values.end());
    if (values.empty() || weight <= 0) {
        return smoothed;
    }
    const double first = values.front();
    const bool constant =
        std::all_of(values.begin(), values.end(), [first](double v) { return v == first; });
    if (constant) {
        return smoothed;
    }
    double last = 0;
    int accumulated = 0;
    for (size_t i = 0; i < values.size(); ++i) {
        const double y = values[i];
        if (!std::isfinite(y)) {
            continue;  // passed through as is
        }
        last = last * weight + (1 - weight) * y;
        ++accumulated;
        const double debias = weight >= 1 ? 1.0 : 1 - std::pow(weight, accumulated);
        smoothed[i] = last / debias;
    }
    return smoothed;
}

}  // namespace lowbit::ui
