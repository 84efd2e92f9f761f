// ModelConfig: the resolved architecture of one decoder (family, sizes, vocabulary), derived from
// the recipe's ModelSpec and the tokenizer, and stored as JSON inside checkpoints.
#pragma once

#include "lowbit/config/recipe.h"

#include <string>

#include <nlohmann/json.hpp>

namespace lowbit::model {

struct ModelConfig {
    config::ModelFamily family = config::ModelFamily::kGpt2;
    int layers = 4;
    int heads = 4;
    int d_model = 128;
    int d_ff = 512;  // always resolved (never 0)
    int context = 64;
    int vocab_size = 256;
    double dropout = 0.0;
    bool tie_embeddings = true;
    double norm_eps = 1e-5;
    double rope_theta = 10000.0;  // Llama only
    double init_std = 0.02;
    // Llama only (docs/quantized-pretraining.md §Fused projections): attn.qkv (3C, C) replaces
    // attn.q, k, v; mlp.gate_up (2·d_ff, C) replaces mlp.gate, up. Same function, same HF names.
    bool fused_qkv = false;
    bool fused_gate_up = false;

    int head_dim() const {
        return d_model / heads;
    }
};

// Resolves the spec against the tokenizer: vocab_size = spec.vocab_size when > 0 (it must be at
// least the tokenizer's vocabulary, the extra rows pad the table) else the tokenizer's. Throws
// std::invalid_argument naming the field on an inconsistent spec.
ModelConfig model_config_from_spec(const config::ModelSpec& spec, int tokenizer_vocab);

// The family default of d_ff (4·d_model for GPT-2; 8/3·d_model rounded up to a multiple of 32
// for Llama), used when the spec says 0.
int default_d_ff(config::ModelFamily family, int d_model);

// Checks sizes are positive and compatible (d_model divisible by heads, even Llama head_dim).
// Throws std::invalid_argument naming the field.
void validate(const ModelConfig& cfg);

// "gpt2" | "llama", and back (std::invalid_argument on an unknown name).
const char* family_name(config::ModelFamily family);
config::ModelFamily family_from_name(const std::string& name);

// JSON for checkpoints: every field by name; from_json requires every key but fused_qkv and
// fused_gate_up (false when absent, as in checkpoints written before they existed)
// (std::invalid_argument naming the missing or mistyped key) and validates the result.
nlohmann::json to_json(const ModelConfig& cfg);
ModelConfig model_config_from_json(const nlohmann::json& j);

bool operator==(const ModelConfig& a, const ModelConfig& b);

}  // namespace lowbit::model
