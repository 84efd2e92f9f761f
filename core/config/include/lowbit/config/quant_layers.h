// The linear layers a recipe's model will have, by stable path and role, and the glob that
// quant.overrides uses to select them. The engine's models (core/model) name their Linear layers
// with exactly these paths, so the recipe can be checked without building a model.
#pragma once

#include "lowbit/config/recipe.h"

#include <string>
#include <string_view>
#include <vector>

namespace lowbit::config {

struct QuantLayer {
    std::string path;  // e.g. "blocks.3.attn.qkv", "lm_head"
    std::string role;  // e.g. "qkv", "attn_out", "down", "lm_head" (the names quant.scope takes)
};

// Every linear of a model of this spec in forward order (block by block, then lm_head):
// GPT-2: blocks.N.attn.qkv (qkv), blocks.N.attn.out (attn_out), blocks.N.mlp.fc1 (fc1),
//        blocks.N.mlp.fc2 (fc2);
// Llama: blocks.N.attn.{q,k,v,o} (q, k, v, o), blocks.N.mlp.{gate,up,down} (gate, up, down);
//        with model.fused_qkv blocks.N.attn.qkv (qkv) replaces q, k, v, and with
//        model.fused_gate_up blocks.N.mlp.gate_up (gate_up) replaces gate, up;
// both:  lm_head (lm_head).
std::vector<QuantLayer> quant_layers(const ModelSpec& model);

// Whether `path` matches the glob `pattern`: '*' matches any run of characters (dots included),
// everything else matches itself; the whole path must match ("blocks.0.*", "*.fc1", "lm_head").
bool layer_pattern_matches(std::string_view pattern, std::string_view path);

}  // namespace lowbit::config
