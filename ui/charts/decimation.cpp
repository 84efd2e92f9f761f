#include "charts/decimation.h"

#include <algorithm>
#include <cmath>

namespace lowbit::ui {

std::vector<size_t> decimate_min_max_last(
    std::span<const double> x, std::span<const double> y, double x_lo, double x_hi, int columns) {
    const size_t n = std::min(x.size(), y.size());
    const auto begin =
        static_cast<size_t>(std::lower_bound(x.begin(), x.begin() + n, x_lo) - x.begin());
    const auto end =
        static_cast<size_t>(std::upper_bound(x.begin(), x.begin() + n, x_hi) - x.begin());
    std::vector<size_t> kept;
    if (begin > 0) {
        kept.push_back(begin - 1);
    }
    const size_t inside = end > begin ? end - begin : 0;
    columns = std::max(columns, 1);
    if (inside <= 3 * static_cast<size_t>(columns) || !(x_hi > x_lo)) {
        for (size_t i = begin; i < end; ++i) {
            kept.push_back(i);
        }
    } else {
        const double width = (x_hi - x_lo) / columns;
        size_t i = begin;
        while (i < end) {
            const auto column = std::min(static_cast<int>((x[i] - x_lo) / width), columns - 1);
            size_t lo = n;
            size_t hi = n;
            size_t last = i;
            for (; i < end &&
                   std::min(static_cast<int>((x[i] - x_lo) / width), columns - 1) == column;
                 ++i) {
                if (!std::isfinite(y[i])) {
                    kept.push_back(i);
                    continue;
                }
                if (lo == n || y[i] < y[lo]) {
                    lo = i;
                }
                if (hi == n || y[i] > y[hi]) {
                    hi = i;
                }
                last = i;
            }
            for (size_t index : {lo, hi, last}) {
                if (index < n) {
                    kept.push_back(index);
                }
            }
        }
        kept.push_back(begin);
        kept.push_back(end - 1);
    }
    if (end < n) {
        kept.push_back(end);
    }
    std::sort(kept.begin(), kept.end());
    kept.erase(std::unique(kept.begin(), kept.end()), kept.end());
    return kept;
}

}  // namespace lowbit::ui
