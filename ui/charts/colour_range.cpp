#include "charts/colour_range.h"

#include <cmath>

namespace lowbit::ui {

QCPRange colour_range(double lowest_finite, double highest_finite) {
    if (!std::isfinite(lowest_finite) || !std::isfinite(highest_finite)) {
        return QCPRange(0, 1);
    }
    if (!(highest_finite > lowest_finite)) {
        return QCPRange(lowest_finite - 0.5, highest_finite + 0.5);
    }
    return QCPRange(lowest_finite, highest_finite);
}

}  // namespace lowbit::ui
