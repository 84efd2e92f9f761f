// ModelConfig resolution from the recipe, validation, and its JSON form for checkpoints.
#include "lowbit/model/model_config.h"

#include <stdexcept>

namespace lowbit::model {

namespace {

[[noreturn]] void fail(const std::string& field, const std::string& why) {
    throw std::invalid_argument("model." + field + ": " + why);
}

template <typename T>
T required(const nlohmann::json& j, const char* key) {
    if (!j.contains(key)) {
        throw std::invalid_argument(std::string("model config JSON: missing key '") + key + "'");
    }
    try {
        return j.at(key).get<T>();
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(std::string("model config JSON: key '") + key +
                                    "' has the wrong type: " + e.what());
    }
}

}  // namespace

int default_d_ff(config::ModelFamily family, int d_model) {
    if (family == config::ModelFamily::kGpt2) {
        return 4 * d_model;
    }
    // ceil(8·d_model / 3) rounded up to a multiple of 32 == ceil(8·d_model / 96) · 32.
    const long long num = 8LL * d_model;
    return static_cast<int>((num + 95) / 96 * 32);
}

ModelConfig model_config_from_spec(const config::ModelSpec& spec, int tokenizer_vocab) {
    if (tokenizer_vocab <= 0) {
        throw std::invalid_argument("tokenizer vocabulary must be positive, got " +
                                    std::to_string(tokenizer_vocab));
    }
    ModelConfig cfg;
    cfg.family = spec.family;
    cfg.layers = spec.layers;
    cfg.heads = spec.heads;
    cfg.d_model = spec.d_model;
    cfg.d_ff = spec.d_ff > 0 ? spec.d_ff : default_d_ff(spec.family, spec.d_model);
    cfg.context = spec.context;
    if (spec.vocab_size > 0) {
        if (spec.vocab_size < tokenizer_vocab) {
            fail("vocab_size",
                 std::to_string(spec.vocab_size) + " is smaller than the tokenizer's vocabulary (" +
                     std::to_string(tokenizer_vocab) + ")");
        }
        cfg.vocab_size = spec.vocab_size;
    } else {
        cfg.vocab_size = tokenizer_vocab;
    }
    cfg.dropout = spec.dropout;
    cfg.tie_embeddings = spec.tie_embeddings;
    cfg.norm_eps = spec.norm_eps;
    cfg.rope_theta = spec.rope_theta;
    cfg.init_std = spec.init_std;
    cfg.fused_qkv = spec.fused_qkv;
    cfg.fused_gate_up = spec.fused_gate_up;
    validate(cfg);
    return cfg;
}

void validate(const ModelConfig& cfg) {
    auto positive = [](const char* field, int v) {
        if (v <= 0) {
            fail(field, "must be positive, got " + std::to_string(v));
        }
    };
    positive("layers", cfg.layers);
    positive("heads", cfg.heads);
    positive("d_model", cfg.d_model);
    positive("d_ff", cfg.d_ff);
    positive("context", cfg.context);
    positive("vocab_size", cfg.vocab_size);
    if (cfg.d_model % cfg.heads != 0) {
        fail("d_model",
             std::to_string(cfg.d_model) + " is not divisible by heads (" +
                 std::to_string(cfg.heads) + ")");
    }
    if (cfg.family == config::ModelFamily::kLlama && cfg.head_dim() % 2 != 0) {
        fail("d_model",
             "RoPE needs an even head dimension, got d_model/heads = " +
                 std::to_string(cfg.head_dim()));
    }
    if (!(cfg.dropout >= 0.0 && cfg.dropout < 1.0)) {
        fail("dropout", "must be in [0, 1), got " + std::to_string(cfg.dropout));
    }
    if (!(cfg.norm_eps > 0.0)) {
        fail("norm_eps", "must be positive");
    }
    if (!(cfg.rope_theta > 0.0)) {
        fail("rope_theta", "must be positive");
    }
    if (!(cfg.init_std > 0.0)) {
        fail("init_std", "must be positive");
    }
    if (cfg.family != config::ModelFamily::kLlama && (cfg.fused_qkv || cfg.fused_gate_up)) {
        fail(cfg.fused_qkv ? "fused_qkv" : "fused_gate_up", "applies to Llama only");
    }
}

const char* family_name(config::ModelFamily family) {
    return family == config::ModelFamily::kLlama ? "llama" : "gpt2";
}

config::ModelFamily family_from_name(const std::string& name) {
    if (name == "gpt2") {
        return config::ModelFamily::kGpt2;
    }
    if (name == "llama") {
        return config::ModelFamily::kLlama;
    }
    throw std::invalid_argument("unknown model family '" + name + "' (expected gpt2 or llama)");
}

nlohmann::json to_json(const ModelConfig& cfg) {
    return nlohmann::json{{"family", family_name(cfg.family)},
                          {"layers", cfg.layers},
                          {"heads", cfg.heads},
                          {"d_model", cfg.d_model},
                          {"d_ff", cfg.d_ff},
                          {"context", cfg.context},
                          {"vocab_size", cfg.vocab_size},
                          {"dropout", cfg.dropout},
                          {"tie_embeddings", cfg.tie_embeddings},
                          {"norm_eps", cfg.norm_eps},
                          {"rope_theta", cfg.rope_theta},
                          {"init_std", cfg.init_std},
                          {"fused_qkv", cfg.fused_qkv},
                          {"fused_gate_up", cfg.fused_gate_up}};
}

ModelConfig model_config_from_json(const nlohmann::json& j) {
    if (!j.is_object()) {
        throw std::invalid_argument("model config JSON: expected an object");
    }
    ModelConfig cfg;
    cfg.family = family_from_name(required<std::string>(j, "family"));
    cfg.layers = required<int>(j, "layers");
    cfg.heads = required<int>(j, "heads");
    cfg.d_model = required<int>(j, "d_model");
    cfg.d_ff = required<int>(j, "d_ff");
    cfg.context = required<int>(j, "context");
    cfg.vocab_size = required<int>(j, "vocab_size");
    cfg.dropout = required<double>(j, "dropout");
    cfg.tie_embeddings = required<bool>(j, "tie_embeddings");
    cfg.norm_eps = required<double>(j, "norm_eps");
    cfg.rope_theta = required<double>(j, "rope_theta");
    cfg.init_std = required<double>(j, "init_std");
    cfg.fused_qkv = j.contains("fused_qkv") && required<bool>(j, "fused_qkv");
    cfg.fused_gate_up = j.contains("fused_gate_up") && required<bool>(j, "fused_gate_up");
    validate(cfg);
    return cfg;
}

bool operator==(const ModelConfig& a, const ModelConfig& b) {
    return to_json(a) == to_json(b);
}

}  // namespace lowbit::model
