// The curve of a group of runs (docs/studio.md §Compare): at every step where a member recorded a
// finite value, the members' mean or median and a band around it (min-max, ±sd or ±SEM, the
// sample standard deviation with n - 1). Pure arithmetic, no Qt.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace lowbit::ui {

enum class GroupCentre { kMean = 0, kMedian = 1 };
enum class GroupBand { kMinMax = 0, kStdDev = 1, kStdError = 2 };

// Statistics of the finite values of a sample (non-finite values are left out).
struct SampleStats {
    int n = 0;
    double mean = 0;
    double median = 0;
    double sd = 0;   // sample standard deviation (n - 1); NaN with fewer than two values
    double sem = 0;  // sd / sqrt(n); NaN with fewer than two values
    double min = 0;
    double max = 0;
};

SampleStats sample_stats(std::span<const double> values);

// (step, value) of one run, ascending by step.
using StepSeries = std::vector<std::pair<int64_t, double>>;

struct BandPoint {
    int64_t step = 0;
    int n = 0;  // members with a finite value at this step
    double centre = 0;
    double lo = 0;  // the band; equal to centre where the band is undefined (one value)
    double hi = 0;
};

std::vector<BandPoint> group_curve(const std::vector<StepSeries>& members,
                                   GroupCentre centre,
                                   GroupBand band);

}  // namespace lowbit::ui
