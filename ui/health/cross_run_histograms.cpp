#include "health/cross_run_histograms.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "histograms/histogram_math.h"

namespace lowbit::ui {

const store::HistogramRecord* RunHistograms::at_step(int64_t step) const {
    const auto it = std::lower_bound(
        uniform.begin(), uniform.end(), step, [](const store::HistogramRecord& row, int64_t s) {
            return row.step < s;
        });
    return it != uniform.end() && it->step == step ? &*it : nullptr;
}

AlignedHistograms align_histograms(const std::vector<const store::HistogramRecord*>& rows) {
    AlignedHistograms aligned;
    double lo = std::numeric_limits<double>::infinity();
    double hi = -lo;
    size_t bins = 0;
    for (const auto* row : rows) {
        if (row != nullptr && !row->counts.empty()) {
            lo = std::min(lo, row->bin_lo);
            hi = std::max(hi, row->bin_hi);
            bins = std::max(bins, row->counts.size());
        }
    }
    if (bins == 0) {
        aligned.counts.assign(rows.size(), {});
        return aligned;
    }
    if (!(hi > lo)) {
        // Every input a constant tensor at one value: one unit-wide range around it.
        lo -= 0.5;
        hi += 0.5;
    }
    aligned.lo = lo;
    aligned.hi = hi;
    aligned.bins = static_cast<int>(bins);
    for (const auto* row : rows) {
        if (row == nullptr || row->counts.empty()) {
            aligned.counts.emplace_back(bins, 0.0);
        } else if (row->bin_lo == lo && row->bin_hi == hi && row->counts.size() == bins) {
            aligned.counts.emplace_back(row->counts.begin(), row->counts.end());
        } else {
            aligned.counts.push_back(
                rebin_uniform(row->counts, row->bin_lo, row->bin_hi, lo, hi, aligned.bins));
        }
    }
    return aligned;
}

std::optional<int64_t> nearest_step_by_tokens(const RunHistograms& run, int64_t tokens) {
    std::optional<int64_t> best;
    int64_t best_distance = 0;
    for (const auto& row : run.uniform) {  // ascending: a tie keeps the earlier step
        const auto found = run.tokens.find(row.step);
        if (found == run.tokens.end()) {
            continue;
        }
        const int64_t distance = std::llabs(found->second - tokens);
        if (!best || distance < best_distance) {
            best = row.step;
            best_distance = distance;
        }
    }
    return best;
}

std::vector<std::optional<int64_t>> matched_steps(const std::vector<RunHistograms>& runs,
                                                  int64_t reference_step,
                                                  CrossRunMatch match) {
    std::vector<std::optional<int64_t>> steps(runs.size());
    if (runs.empty()) {
        return steps;
    }
    if (match == CrossRunMatch::kSameStep) {
        for (size_t i = 0; i < runs.size(); ++i) {
            if (runs[i].at_step(reference_step) != nullptr) {
                steps[i] = reference_step;
            }
        }
        return steps;
    }
    const auto reference_tokens = runs.front().tokens.find(reference_step);
    if (reference_tokens == runs.front().tokens.end()) {
        return steps;
    }
    for (size_t i = 0; i < runs.size(); ++i) {
        steps[i] = nearest_step_by_tokens(runs[i], reference_tokens->second);
    }
    return steps;
}

HistogramDifference histogram_difference(const RunHistograms& a, const RunHistograms& b) {
    HistogramDifference result;
    std::vector<const store::HistogramRecord*> rows;
    for (const auto& row : a.uniform) {
        if (const auto* other = b.at_step(row.step)) {
            result.steps.push_back(row.step);
            rows.push_back(&row);
            rows.push_back(other);
        }
    }
    const AlignedHistograms aligned = align_histograms(rows);
    result.difference.lo = aligned.lo;
    result.difference.hi = aligned.hi;
    result.difference.bins = aligned.bins;
    for (size_t i = 0; i < result.steps.size(); ++i) {
        const auto& from_a = aligned.counts[2 * i];
        const auto& from_b = aligned.counts[2 * i + 1];
        std::vector<double> cells(from_a.size());
        for (size_t k = 0; k < cells.size(); ++k) {
            cells[k] = from_a[k] - from_b[k];
        }
        result.difference.counts.push_back(std::move(cells));
    }
    return result;
}

}  // namespace lowbit::ui
