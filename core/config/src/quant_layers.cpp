// Layer paths of a recipe's model and the override glob (see quant_layers.h).
#include "lowbit/config/quant_layers.h"

namespace lowbit::config {

std::vector<QuantLayer> quant_layers(const ModelSpec& model) {
    std::vector<QuantLayer> layers;
    for (int i = 0; i < model.layers; ++i) {
        const std::string block = "blocks." + std::to_string(i);
        if (model.family == ModelFamily::kLlama) {
            if (model.fused_qkv) {
                layers.push_back({block + ".attn.qkv", "qkv"});
            } else {
                for (const char* name : {"q", "k", "v"}) {
                    layers.push_back({block + ".attn." + name, name});
                }
            }
            layers.push_back({block + ".attn.o", "o"});
            if (model.fused_gate_up) {
                layers.push_back({block + ".mlp.gate_up", "gate_up"});
            } else {
                for (const char* name : {"gate", "up"}) {
                    layers.push_back({block + ".mlp." + name, name});
                }
            }
            layers.push_back({block + ".mlp.down", "down"});
        } else {
            layers.push_back({block + ".attn.qkv", "qkv"});
            layers.push_back({block + ".attn.out", "attn_out"});
            layers.push_back({block + ".mlp.fc1", "fc1"});
            layers.push_back({block + ".mlp.fc2", "fc2"});
        }
    }
    layers.push_back({"lm_head", "lm_head"});
    return layers;
}

bool layer_pattern_matches(std::string_view pattern, std::string_view path) {
    // Iterative glob with one backtrack point (the last '*'): linear in practice, no recursion.
    std::size_t p = 0;
    std::size_t s = 0;
    std::size_t star = std::string_view::npos;
    std::size_t resume = 0;
    while (s < path.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = s;
        } else if (p < pattern.size() && pattern[p] == path[s]) {
            ++p;
            ++s;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

}  // namespace lowbit::config
