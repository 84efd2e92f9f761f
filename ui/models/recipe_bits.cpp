#include "models/recipe_bits.h"

#include "lowbit/config/recipe_json.h"

#include <exception>

namespace lowbit::ui {

int quantizer_bits(const config::QuantizerSpec& spec) {
    return spec.enabled() ? spec.bits : 32;
}

std::string recipe_bits_label(const std::string& recipe_json, const std::string& kind) {
    if (recipe_json.empty()) {
        return {};
    }
    try {
        const config::Recipe recipe = config::recipe_from_json(nlohmann::json::parse(recipe_json));
        if (kind == "qat") {
            return "W" + std::to_string(recipe.qat.bits) + " g" +
                   std::to_string(recipe.qat.group_size) + " " +
                   config::to_string(recipe.qat.method);
        }
        const auto& q = recipe.quant;
        auto bits = [](const config::QuantizerSpec& spec) {
            return std::to_string(quantizer_bits(spec));
        };
        return "W" + bits(q.weight) + " A" + bits(q.activation) + " G" + bits(q.grad_output) +
               " m" + bits(q.optim_m) + " v" + bits(q.optim_v);
    } catch (const std::exception&) {
        return {};
    }
}

}  // namespace lowbit::ui
