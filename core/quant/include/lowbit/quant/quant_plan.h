// QuantPlan: the quantizers of every Linear of a model, resolved from the recipe's quant: section
// (scope, section entries, per-layer overrides). The trainer resolves it right after building the
// model, so every error in it is reported before the first step; the model keeps it
// (LanguageModelImpl::quant_plan()) for the optimizer (optim_m, optim_v) and the telemetry.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/quant/layer_quantizers.h"

#include <memory>
#include <string_view>
#include <vector>

namespace lowbit::model {
class LanguageModelImpl;
}

namespace lowbit::quant {

struct QuantPlan {
    // One entry per LanguageModelImpl::linears(), same order; a layer outside quant.scope has an
    // entry with every quantizer off.
    std::vector<std::shared_ptr<const LayerQuantizers>> layers;

    // The entry of the layer with this path, or null.
    const LayerQuantizers* find(std::string_view path) const;

    bool quantizes_anything() const;
};

// Resolves recipe.quant against the model's linears:
// - scope: the roles to quantize; empty = the reference default, every linear incl. lm_head;
// - each scoped layer starts from the section's entries; every override whose `layers` glob
//   matches its path replaces the entries it gives (later overrides win; keys an entry leaves
//   out already hold that tensor type's defaults, see QuantOverride);
// - an entry with bits 16 or 32 is off (nullopt).
// Throws util::BadInput naming the recipe key and the layer for: a bit-width other than 2..8,
// 16, 32; a scope entry that names no linear of this model; a per_group group size that does not
// divide the width it applies to (W, A, m, v: in_features; G: out_features, or out/3 for each of
// qkv's q, k, v blocks with quant.split_qkv_grad); an override matching no scoped layer.
QuantPlan resolve_quant_plan(const config::Recipe& recipe, const model::LanguageModelImpl& model);

}  // namespace lowbit::quant
