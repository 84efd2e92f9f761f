// Per-pixel-column decimation of a long series for drawing: the x range is cut into `columns`
// equal buckets and each bucket keeps its minimum, its maximum and its last point, so a one-step
// spike survives any zoom level (a plain stride would drop it). Non-finite values are always kept
// (they are drawn as gaps and markers), as are the first and last point in the range and the
// nearest point outside each end (so lines reach the edges). When the range holds few points
// (at most 3 per column) every point is kept: zooming in gives full resolution.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace lowbit::ui {

// x ascending. Returns indices into x/y, ascending, without duplicates.
std::vector<size_t> decimate_min_max_last(
    std::span<const double> x, std::span<const double> y, double x_lo, double x_hi, int columns);

}  // namespace lowbit::ui
