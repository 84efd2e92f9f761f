// resolve_quant_plan: recipe quant: section x model linears -> one LayerQuantizers per layer.
#include "lowbit/quant/quant_plan.h"

#include "lowbit/config/quant_layers.h"
#include "lowbit/model/language_model.h"
#include "lowbit/quant/kernel_params.h"
#include "lowbit/util/exit_codes.h"

#include <algorithm>
#include <array>
#include <string>

namespace lowbit::quant {
namespace {

// One tensor type's entry for a layer, with the recipe key it came from (for error messages).
struct SourcedSpec {
    config::QuantizerSpec spec;
    std::string key;  // "quant.weight" or "quant.overrides[1].weight"
};

using LayerSpecs = std::array<SourcedSpec, kTensorKinds.size()>;

config::QuantizerSpec config::QuantSpec::*section_member(TensorKind kind) {
    switch (kind) {
        case TensorKind::kWeight:
            return &config::QuantSpec::weight;
        case TensorKind::kActivation:
            return &config::QuantSpec::activation;
        case TensorKind::kGradOutput:
            return &config::QuantSpec::grad_output;
        case TensorKind::kOptimM:
            return &config::QuantSpec::optim_m;
        case TensorKind::kOptimV:
            break;
    }
    return &config::QuantSpec::optim_v;
}

std::optional<config::QuantizerSpec> config::QuantOverride::*override_member(TensorKind kind) {
    switch (kind) {
        case TensorKind::kWeight:
            return &config::QuantOverride::weight;
        case TensorKind::kActivation:
            return &config::QuantOverride::activation;
        case TensorKind::kGradOutput:
            return &config::QuantOverride::grad_output;
        case TensorKind::kOptimM:
            return &config::QuantOverride::optim_m;
        case TensorKind::kOptimV:
            break;
    }
    return &config::QuantOverride::optim_v;
}

std::string join(const std::vector<std::string>& words) {
    std::string text;
    for (const std::string& w : words) {
        text += (text.empty() ? "" : ", ") + w;
    }
    return text;
}

// The config rejects these when it reads a recipe; a Recipe built in code reaches here unchecked.
void check_bits(const config::QuantizerSpec& spec, const std::string& key) {
    const int b = spec.bits;
    if (!((b >= 2 && b <= 8) || b == 16 || b == 32)) {
        throw util::BadInput(key + ".bits: " + std::to_string(b) +
                             " is not a supported bit-width (expected 2..8, or 16/32 for off)");
    }
}

void check_scope(const config::Recipe& recipe, const std::vector<model::Linear>& linears) {
    std::vector<std::string> roles;
    for (const auto& linear : linears) {
        if (std::find(roles.begin(), roles.end(), linear->role()) == roles.end()) {
            roles.push_back(linear->role());
        }
    }
    for (const std::string& entry : recipe.quant.scope) {
        if (std::find(roles.begin(), roles.end(), entry) == roles.end()) {
            throw util::BadInput("quant.scope: '" + entry + "' is not a linear of this " +
                                 config::to_string(recipe.model.family) +
                                 " model (expected some of: " + join(roles) + ")");
        }
    }
}

// The width a group size must divide for this tensor of this layer, and what it is called.
std::pair<int64_t, std::string> group_width(TensorKind kind,
                                            const model::LinearImpl& linear,
                                            int grad_output_blocks) {
    if (kind != TensorKind::kGradOutput) {
        return {linear.in_features(), "input width"};
    }
    if (grad_output_blocks > 1) {
        return {linear.out_features() / grad_output_blocks,
                "width of one q/k/v block of the output gradient (quant.split_qkv_grad)"};
    }
    return {linear.out_features(), "output width"};
}

std::shared_ptr<const LayerQuantizers> resolve_layer(const config::Recipe& recipe,
                                                     const model::LinearImpl& linear,
                                                     int64_t index,
                                                     const LayerSpecs& specs,
                                                     bool in_scope) {
    auto q = std::make_shared<LayerQuantizers>();
    q->path = linear.path();
    q->role = linear.role();
    q->layer_index = index;
    q->recipe_seed = recipe.seed;
    q->backward = recipe.quant.backward;
    q->arithmetic = recipe.quant.arithmetic;
    q->forward_gemm = recipe.quant.forward_gemm;
    q->grad_output_blocks =
        recipe.quant.split_qkv_grad && linear.role() == "qkv" && linear.out_features() % 3 == 0 ? 3
                                                                                                : 1;
    if (!in_scope) {
        return q;
    }
    std::optional<kernels::FakeQuantParams>* slots[] = {
        &q->weight, &q->activation, &q->grad_output, &q->optim_m, &q->optim_v};
    for (TensorKind kind : kTensorKinds) {
        const SourcedSpec& s = specs[static_cast<size_t>(kind)];
        if (!s.spec.enabled()) {
            continue;
        }
        if (s.spec.granularity == config::Granularity::kPerGroup) {
            const auto [width, what] = group_width(kind, linear, q->grad_output_blocks);
            if (s.spec.group_size <= 0 || width % s.spec.group_size != 0) {
                throw util::BadInput(s.key + ".group_size: " + std::to_string(s.spec.group_size) +
                                     " does not divide " + std::to_string(width) + ", the " + what +
                                     " of layer " + linear.path() +
                                     " (expected a group size that divides every quantized "
                                     "layer width)");
            }
        }
        *slots[static_cast<size_t>(kind)] = kernel_params(s.spec);
    }
    return q;
}

}  // namespace

const LayerQuantizers* QuantPlan::find(std::string_view path) const {
    for (const auto& layer : layers) {
        if (layer->path == path) {
            return layer.get();
        }
    }
    return nullptr;
}

bool QuantPlan::quantizes_anything() const {
    return std::any_of(
        layers.begin(), layers.end(), [](const auto& l) { return l->quantizes_anything(); });
}

QuantPlan resolve_quant_plan(const config::Recipe& recipe, const model::LanguageModelImpl& model) {
    const config::QuantSpec& quant = recipe.quant;
    for (TensorKind kind : kTensorKinds) {
        check_bits(quant.*section_member(kind), std::string("quant.") + to_string(kind));
    }
    for (size_t j = 0; j < quant.overrides.size(); ++j) {
        for (TensorKind kind : kTensorKinds) {
            if (const auto& spec = quant.overrides[j].*override_member(kind)) {
                check_bits(*spec, "quant.overrides[" + std::to_string(j) + "]." + to_string(kind));
            }
        }
    }
    const std::vector<model::Linear> linears = model.linears();
    check_scope(recipe, linears);

    QuantPlan plan;
    std::vector<bool> override_used(quant.overrides.size(), false);
    for (size_t i = 0; i < linears.size(); ++i) {
        const model::LinearImpl& linear = *linears[i];
        const bool in_scope =
            quant.scope.empty() ||
            std::find(quant.scope.begin(), quant.scope.end(), linear.role()) != quant.scope.end();
        LayerSpecs specs;
        for (TensorKind kind : kTensorKinds) {
            specs[static_cast<size_t>(kind)] = {quant.*section_member(kind),
                                                std::string("quant.") + to_string(kind)};
        }
        for (size_t j = 0; in_scope && j < quant.overrides.size(); ++j) {
            const config::QuantOverride& o = quant.overrides[j];
            if (!config::layer_pattern_matches(o.layers, linear.path())) {
                continue;
            }
            override_used[j] = true;
            for (TensorKind kind : kTensorKinds) {
                if (const auto& spec = o.*override_member(kind)) {
                    specs[static_cast<size_t>(kind)] = {
                        *spec, "quant.overrides[" + std::to_string(j) + "]." + to_string(kind)};
                }
            }
        }
        plan.layers.push_back(
            resolve_layer(recipe, linear, static_cast<int64_t>(i), specs, in_scope));
    }
    for (size_t j = 0; j < quant.overrides.size(); ++j) {
        if (!override_used[j]) {
            std::vector<std::string> examples;
            for (size_t i = 0; i < linears.size() && examples.size() < 4; ++i) {
                examples.push_back(linears[i]->path());
            }
            examples.push_back("...");
            examples.push_back(linears.back()->path());
            throw util::BadInput("quant.overrides[" + std::to_string(j) + "].layers: '" +
                                 quant.overrides[j].layers +
                                 "' matches no quantized linear of the model (expected a glob "
                                 "over the paths of layers in quant.scope: " +
                                 join(examples) + ")");
        }
    }
    return plan;
}

}  // namespace lowbit::quant
