// The value range a heatmap's colours span: its finite cells' lowest to highest, 0..1 when no
// cell is finite, widened by half a unit each way when every finite cell holds the same value (a
// colour scale needs a range that is not empty).
#pragma once

#include "charts/qcustomplot_include.h"

namespace lowbit::ui {

QCPRange colour_range(double lowest_finite, double highest_finite);

}  // namespace lowbit::ui
