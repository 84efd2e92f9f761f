// hf_tensor_names: per-family tables of (our name, HF name, transpose) for every tensor.
#include "lowbit/io/hf_names.h"

namespace lowbit::io {

namespace {

void add_gpt2(const model::ModelConfig& cfg, std::vector<HfTensorName>& out) {
    out.push_back({"tok_emb.weight", "transformer.wte.weight", false});
    out.push_back({"pos_emb.weight", "transformer.wpe.weight", false});
    for (int i = 0; i < cfg.layers; ++i) {
        const std::string ours = "blocks." + std::to_string(i) + ".";
        const std::string hf = "transformer.h." + std::to_string(i) + ".";

        // (our module, HF module, is a Conv1D weight)
        const struct {
            const char* ours;
            const char* hf;
            bool conv1d;
        } parts[] = {{"ln1", "ln_1", false},
                     {"attn.qkv", "attn.c_attn", true},
                     {"attn.out", "attn.c_proj", true},
                     {"ln2", "ln_2", false},
                     {"mlp.fc1", "mlp.c_fc", true},
                     {"mlp.fc2", "mlp.c_proj", true}};

        for (const auto& p : parts) {
            out.push_back({ours + p.ours + ".weight", hf + p.hf + ".weight", p.conv1d});
            out.push_back({ours + p.ours + ".bias", hf + p.hf + ".bias", false});
        }
    }
    out.push_back({"ln_f.weight", "transformer.ln_f.weight", false});
    out.push_back({"ln_f.bias", "transformer.ln_f.bias", false});
}

void add_llama(const model::ModelConfig& cfg, std::vector<HfTensorName>& out) {
    out.push_back({"tok_emb.weight", "model.embed_tokens.weight", false});
    for (int i = 0; i < cfg.layers; ++i) {
        const std::string ours = "blocks." + std::to_string(i) + ".";
        const std::string hf = "model.layers." + std::to_string(i) + ".";
        const auto add = [&](const char* o, const char* h) {
            out.push_back({ours + o + ".weight", hf + h + ".weight", false});
        };
        // A fused projection: HF's separate tensors are consecutive row blocks of ours.
        const auto add_rows = [&](const char* o, const char* h, std::int64_t block, int index) {
            out.push_back({ours + o + ".weight", hf + h + ".weight", false, index * block, block});
        };
        add("norm1", "input_layernorm");
        if (cfg.fused_qkv) {
            add_rows("attn.qkv", "self_attn.q_proj", cfg.d_model, 0);
            add_rows("attn.qkv", "self_attn.k_proj", cfg.d_model, 1);
            add_rows("attn.qkv", "self_attn.v_proj", cfg.d_model, 2);
        } else {
            add("attn.q", "self_attn.q_proj");
            add("attn.k", "self_attn.k_proj");
            add("attn.v", "self_attn.v_proj");
        }
        add("attn.o", "self_attn.o_proj");
        add("norm2", "post_attention_layernorm");
        if (cfg.fused_gate_up) {
            add_rows("mlp.gate_up", "mlp.gate_proj", cfg.d_ff, 0);
            add_rows("mlp.gate_up", "mlp.up_proj", cfg.d_ff, 1);
        } else {
            add("mlp.gate", "mlp.gate_proj");
            add("mlp.up", "mlp.up_proj");
        }
        add("mlp.down", "mlp.down_proj");
    }
    out.push_back({"norm_f.weight", "model.norm.weight", false});
}

}  // namespace

std::vector<HfTensorName> hf_tensor_names(const model::ModelConfig& cfg) {
    std::vector<HfTensorName> out;
    if (cfg.family == config::ModelFamily::kGpt2) {
        add_gpt2(cfg, out);
    } else {
        add_llama(cfg, out);
    }
    if (!cfg.tie_embeddings) {
        out.push_back({"lm_head.weight", "lm_head.weight", false});
    }
    return out;
}

bool is_ignored_hf_tensor(const model::ModelConfig& cfg, const std::string& hf_name) {
    if (cfg.family != config::ModelFamily::kGpt2) {
        return false;
    }
    return hf_name.starts_with("transformer.h.") &&
           (hf_name.ends_with(".attn.bias") || hf_name.ends_with(".attn.masked_bias"));
}

}  // namespace lowbit::io
