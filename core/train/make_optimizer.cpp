// make_optimizer (see make_optimizer.h): maps each named parameter to the Linear that owns it and
// reads that layer's optim_m / optim_v quantizers from the installed plan.
#include "lowbit/train/make_optimizer.h"

#include "lowbit/train/quantized_adamw.h"
#include "lowbit/train/sharded_optimizer.h"

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
                                          const model::LanguageModelImpl& model,
                                          dist::World* world) {
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
    // The whole model decides the kind, so every rank's share is updated by the same code.
    const kernels::SecondMomentMapping v_mapping = recipe.quant.optim_v_mapping;
    const OptimizerFactory make =
        [any_quantized, options, v_mapping](
            std::vector<QuantizedAdamWParam> parameters) -> std::unique_ptr<Optimizer> {
        if (!any_quantized) {
            std::vector<std::pair<std::string, torch::Tensor>> plain;
            for (auto& p : parameters) {
                plain.emplace_back(std::move(p.name), std::move(p.param));
            }
            return std::make_unique<AdamW>(std::move(plain), options);
        }
        return std::make_unique<QuantizedAdamW>(std::move(parameters), options, v_mapping);
    };
    if (world != nullptr && world->size() > 1 && recipe.distributed.shard_optimizer_states) {
        return std::make_unique<ShardedOptimizer>(*world, std::move(quantized), make);
    }
    return make(std::move(quantized));
}

bool keeps_float_moments(const Optimizer& optimizer) {
    if (const auto* sharded = dynamic_cast<const ShardedOptimizer*>(&optimizer)) {
        return keeps_float_moments(sharded->local());
    }
    return dynamic_cast<const AdamW*>(&optimizer) != nullptr;
}

}  // namespace lowbit::train
