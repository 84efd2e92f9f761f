// Debiased exponential moving average, as TensorBoard's scalar dashboard smooths: with weight w,
// last = last * w + (1 - w) * y over the finite points, and each smoothed value is last divided by
// 1 - w^n (n = finite points seen so far), which removes the pull towards the zero start. A
// non-finite point is passed through unchanged and not fed into the average; a constant series
// is returned unsmoothed.
#pragma once

#include <span>
#include <vector>

namespace lowbit::ui {

// weight in [0, 1): 0 returns the input; the studio's default is 0.6.
std::vector<double> smooth_debiased_ema(std::span<const double> values, double weight);

}  // namespace lowbit::ui
