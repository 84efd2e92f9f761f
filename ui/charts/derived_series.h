// Derived series of a chart, computed from a run's full-resolution raw points (docs/studio.md
// §Derived series): the difference or the ratio to the baseline run at the same step (exact step
// matching, no interpolation), a debiased EMA with a weight of its own, and the derivative dy/dx
// by finite differences. Pure functions over plain vectors, without Qt, so tests call them
// directly; the chart series builder applies them before decimation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit::ui {

enum class DerivedKind { kDifference = 0, kRatio = 1, kEma = 2, kDerivative = 3 };

struct DerivedSpec {
    DerivedKind kind = DerivedKind::kEma;
    double weight = 0.9;  // the EMA's own weight; the other kinds ignore it

    bool operator==(const DerivedSpec&) const = default;
};

// The name used in the layout file ("difference", "ratio", "ema", "derivative").
std::string derived_kind_name(DerivedKind kind);
std::optional<DerivedKind> derived_kind_from_name(std::string_view name);
// What the legend appends to the run's name, e.g. "− baseline" or "EMA 0.9".
std::string derived_suffix(const DerivedSpec& spec);

// One run's points in step order; x is the chart's x quantity (step, tokens or wall time), y may
// hold NaN for a non-finite value.
struct SeriesPoints {
    std::vector<int64_t> steps;
    std::vector<double> x;
    std::vector<double> y;

    size_t size() const {
        return y.size();
    }
};

// At every step both runs recorded with finite values: run − baseline (x of the run's point).
SeriesPoints difference_to_baseline(const SeriesPoints& run, const SeriesPoints& baseline);
// As the difference, run / baseline; steps where the baseline is 0 are left out.
SeriesPoints ratio_to_baseline(const SeriesPoints& run, const SeriesPoints& baseline);
// smooth_debiased_ema over the run's values with the given weight; non-finite points left out.
SeriesPoints ema_series(const SeriesPoints& run, double weight);
// dy/dx over the finite points: the central difference (y[i+1] − y[i−1]) / (x[i+1] − x[i−1]) at
// interior points, the forward and backward difference at the first and the last; a point whose
// neighbours share one x is left out; fewer than two points give nothing.
SeriesPoints derivative_series(const SeriesPoints& run);

// The one entry point the builder uses: baseline may be null for the kinds that do not need it
// (a difference or ratio without a baseline is empty).
SeriesPoints derive(const DerivedSpec& spec, const SeriesPoints& run, const SeriesPoints* baseline);

}  // namespace lowbit::ui
