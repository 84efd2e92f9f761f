// The arithmetic behind the histogram inspector, free of widgets so tests can check it by hand:
// where a quantizer's levels and clip range lie in value units (docs/quantized-pretraining.md
// §Symmetric and asymmetric scales), percentiles from a histogram's cumulative counts, and the
// log count a heatmap cell shows.
#pragma once

#include "lowbit/store/records.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::ui {

// The quantizer of one tensor at one step, read from its statistics row's `quantizer` JSON and
// code range. Empty (quantized() false) for a tensor kept in full precision.
struct QuantizerInfo {
    int bits = 0;
    std::string granularity;  // per_tensor, per_channel, per_token, per_group, per_block
    int64_t group_size = 0;
    bool symmetric = true;
    std::string grid;  // reference, full
    int64_t qn = 0, qp = 0;

    bool quantized() const {
        return bits > 0;
    }

    // "8-bit per_token symmetric, reference grid"
    std::string describe() const;
};

// nullopt when the tensor was not quantized; a row recorded before schema 3 (quantizer "{}")
// gives bits from its code range.
std::optional<QuantizerInfo> quantizer_of(const store::TensorStatsRecord& stats);

// Where the quantizer's codes land in value units. With one scale (scale_min == scale_max = s,
// which a per_tensor quantizer always has) the levels are exact: code q sits at (q + z)·s with
// z = 0 symmetric and z = round(min/s − qn) asymmetric, the form both asymmetric grids share
// (docs/quantized-pretraining.md §Symmetric and asymmetric scales: the full grid's zp is −z), in
// float32 like the quantizer. With several scales each group has its own levels: `levels` then
// holds the levels at the smallest scale (the finest spacing, symmetric only) and `coarse_levels`
// those at the largest, and the clip range is the widest one any group can have.
struct QuantizerOverlay {
    bool single_scale = true;
    double scale_min = 0, scale_max = 0;
    int64_t zero_offset = 0;            // z of the single-scale asymmetric case
    std::vector<double> levels;         // value units, ascending
    std::vector<double> coarse_levels;  // several scales, symmetric: levels at scale_max
    double clip_lo = 0, clip_hi = 0;    // the representable range in value units
};

std::optional<QuantizerOverlay> quantizer_overlay(const store::TensorStatsRecord& stats);

// The value below which `fraction` (0..1) of the histogram's counts lie, interpolating linearly
// inside a bin (values spread evenly over it). Bins are equal over [lo, hi]. NaN when empty.
double histogram_percentile(const std::vector<int64_t>& counts,
                            double lo,
                            double hi,
                            double fraction);

// The colour value of a heatmap cell: log10(1 + count), so an empty cell is 0 and every decade
// of counts one colour step.
double heatmap_cell_value(int64_t count);

// A uniform histogram's counts over [lo, hi] spread onto `bins` equal bins over [to_lo, to_hi],
// each source bin's count shared by overlap (values spread evenly over a bin). Uniform bins
// follow each step's [min, max], so a heatmap over steps needs them on one common axis.
std::vector<double> rebin_uniform(
    const std::vector<int64_t>& counts, double lo, double hi, double to_lo, double to_hi, int bins);

// The tensor kinds in the order the views list them: weight, activation, grad_output, optim_m,
// optim_v.
const std::vector<std::string>& tensor_kinds();

// Short names of the tensor kinds as the inspector shows them (W, A, G, m, v) and back.
std::string tensor_kind_short(const std::string& kind);
std::optional<std::string> tensor_kind_from_text(const std::string& text);  // W or weight, ...

// The block a layer belongs to in the layer tree: "blocks.3.attn.qkv" -> "blocks.3"; a layer
// outside the blocks (lm_head) is its own group: "".
std::string layer_group(const std::string& layer);

// Layer names in model order: numbers inside names compare as numbers ("blocks.10" after
// "blocks.9"), the rest character by character (lm_head after the blocks).
bool natural_less(const std::string& a, const std::string& b);

}  // namespace lowbit::ui
