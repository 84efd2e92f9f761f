// batch_wide_scales (batch_wide_scales.h).
#include "lowbit/config/batch_wide_scales.h"

#include "lowbit/kernels/quant_format.h"

#include <optional>

namespace lowbit::config {
namespace {

// One scale over the whole tensor, or rows that are sequence positions across the batch.
bool spans_rows(const QuantizerSpec& spec) {
    const kernels::GranularityTraits& traits = kernels::granularity_traits(spec.granularity);
    return spec.enabled() && (traits.groups == kernels::ScaleGroups::kWhole ||
                              traits.view == kernels::KernelView::kPositionsFirst);
}

void add_if_batch_wide(std::vector<std::string>& found,
                       const char* tensor,
                       const std::optional<QuantizerSpec>& spec,
                       const std::string& layers) {
    if (spec && spans_rows(*spec)) {
        std::string entry =
            std::string(tensor) + " " + kernels::granularity_traits(spec->granularity).name;
        if (!layers.empty()) {
            entry += " (layers " + layers + ")";
        }
        found.push_back(entry);
    }
}

}  // namespace

std::vector<std::string> batch_wide_scales(const QuantSpec& quant) {
    std::vector<std::string> found;
    add_if_batch_wide(found, "activation", quant.activation, "");
    add_if_batch_wide(found, "grad_output", quant.grad_output, "");
    for (const QuantOverride& override_entry : quant.overrides) {
        add_if_batch_wide(found, "activation", override_entry.activation, override_entry.layers);
        add_if_batch_wide(found, "grad_output", override_entry.grad_output, override_entry.layers);
    }
    return found;
}

}  // namespace lowbit::config
