// make_optimizer (see make_optimizer.h): maps each named parameter to the Linear that owns it and
// reads that layer's optim_m / optim_v quantizers from the installed plan.
#include "lowbit/train/make_optimizer.h"

#include "lowbit/train/quantized_adamw.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lowbit::train {

AdamWOptions adamw_options(const config::TrainSpec& train) {
    AdamWOptions options;
    options.beta1 = train.betas[0];
    options.beta2 = train.betas[1];
    options.eps = train.eps;
    options.weight_decay = train.weight_decay;
    return options;
}

namespace {

// The plan entry of the Linear that owns `param` as its weight, or null.
const quant::LayerQuantizers* owning_layer(const model::LanguageModelImpl& model,
                                           const torch::Tensor& param) {
    for (const model::Linear& linear : model.linears()) {
        if (!linear->weight_is_shared() && linear->weight().is_same(param)) {
            return linear->quantizers().get();
        }
    }
    return nullptr;
}

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(const config::Recipe& recipe,
                                          const model::LanguageModelImpl& model) {
    const AdamWOptions options = adamw_options(recipe.train);
    std::vector<QuantizedAdamWParam> quantized;
    bool any_quantized = false;
    for (const auto& item : model.named_parameters()) {
        QuantizedAdamWParam p{item.key(), item.value(), std::nullopt, std::nullopt};
        if (const quant::LayerQuantizers* layer = owning_layer(model, item.value())) {
            if (layer->optim_m) {
                p.m_format = state_quant_format(*layer->optim_m);
            }
            if (layer->optim_v) {
                p.v_format = state_quant_format(*layer->optim_v);
            }
        }
        any_quantized = any_quantized || p.m_format || p.v_format;
        quantized.push_back(std::move(p));
    }
    if (!any_quantized) {
        std::vector<std::pair<std::string, torch::Tensor>> parameters;
        for (auto& p : quantized) {
            parameters.emplace_back(std::move(p.name), std::move(p.param));
        }
        return std::make_unique<AdamW>(std::move(parameters), options);
    }
    return std::make_unique<QuantizedAdamW>(
        std::move(quantized), options, recipe.quant.optim_v_mapping);
}

}  // namespace lowbit::train
