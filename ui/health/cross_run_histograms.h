// One layer and tensor kind compared across runs (docs/studio.md §Cross-run histograms), free of
// widgets: which step of each run goes with a step of the reference run (the same step, or the
// step whose token count is nearest), how histograms with different bin ranges are put on common
// bins, and the difference of two runs' histograms over the steps both recorded.
#pragma once

#include "lowbit/store/records.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::ui {

// What one run recorded of one (layer, kind): its value histograms ("uniform" rows, ascending by
// step, one per step) and the token count of each step that logged one (the `tokens` scalar).
struct RunHistograms {
    int64_t run_id = 0;
    std::vector<store::HistogramRecord> uniform;
    std::map<int64_t, int64_t> tokens;  // step -> tokens seen

    const store::HistogramRecord* at_step(int64_t step) const;
};

// Histograms on common bins: `bins` equal bins over [lo, hi], one row of counts per input.
struct AlignedHistograms {
    double lo = 0, hi = 0;
    int bins = 0;
    std::vector<std::vector<double>> counts;

    double edge(int k) const {
        return lo + (hi - lo) * k / bins;
    }
};

// Common bins for uniform histograms whose ranges differ: the union of their ranges, split into
// as many bins as the finest input has; each input bin's count is spread evenly over the common
// bins it overlaps (rebin_uniform), which keeps every histogram's total. Inputs that already share
// one range and bin count come back with their own counts.
AlignedHistograms align_histograms(const std::vector<const store::HistogramRecord*>& rows);

// The recorded step of `run` whose token count is nearest `tokens` (ties: the earlier step);
// only steps with both a histogram and a token count qualify. nullopt when none does.
std::optional<int64_t> nearest_step_by_tokens(const RunHistograms& run, int64_t tokens);

enum class CrossRunMatch { kSameStep, kSameTokens };

// For a step of the reference run (the first of `runs`), the step each run is shown at: the same
// step when that run recorded it, or by tokens the step nearest the reference's token count
// there. nullopt for a run with no such step (or, by tokens, when the reference step has no
// token count).
std::vector<std::optional<int64_t>> matched_steps(const std::vector<RunHistograms>& runs,
                                                  int64_t reference_step,
                                                  CrossRunMatch match);

// A − B per step over the steps both runs recorded (ascending), every histogram of both runs
// on the same common bins (align_histograms over all of them, so the rows of different steps
// share one axis).
struct HistogramDifference {
    std::vector<int64_t> steps;
    AlignedHistograms difference;  // counts[i]: A − B at steps[i]
};

HistogramDifference histogram_difference(const RunHistograms& a, const RunHistograms& b);

}  // namespace lowbit::ui
