// export_hf: writes config.json / generation_config.json in the keys transformers expects for
// gpt2 and llama, the weights under HF names (model.safetensors) and the tokenizer files.
#include "lowbit/io/hf_export.h"

#include "lowbit/io/hf_names.h"
#include "lowbit/io/safetensors.h"

#include <fstream>
#include <optional>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <sentencepiece_processor.h>

namespace lowbit::io {

namespace {

struct SpecialIds {
    std::optional<int> bos, eos;
};

// BOS/EOS of a SentencePiece model (absent when disabled, i.e. id −1); none for byte tokens.
SpecialIds special_ids(const std::filesystem::path& tokenizer_model) {
    SpecialIds ids;
    if (tokenizer_model.empty()) {
        return ids;
    }
    sentencepiece::SentencePieceProcessor sp;
    const auto status = sp.Load(tokenizer_model.string());
    if (!status.ok()) {
        throw std::runtime_error(tokenizer_model.string() +
                                 ": cannot load SentencePiece model: " + status.ToString());
    }
    if (sp.bos_id() >= 0) {
        ids.bos = sp.bos_id();
    }
    if (sp.eos_id() >= 0) {
        ids.eos = sp.eos_id();
    }
    return ids;
}

void write_json(const std::filesystem::path& path, const nlohmann::ordered_json& j) {
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << j.dump(2) << "\n";
        out.close();
        if (!out) {
            throw std::runtime_error(tmp.string() + ": write failed");
        }
    }
    std::filesystem::rename(tmp, path);
}

nlohmann::ordered_json gpt2_config(const model::ModelConfig& c) {
    return {{"architectures", {"GPT2LMHeadModel"}},
            {"model_type", "gpt2"},
            {"n_layer", c.layers},
            {"n_head", c.heads},
            {"n_embd", c.d_model},
            {"n_positions", c.context},
            {"n_ctx", c.context},
            {"n_inner", c.d_ff},
            {"vocab_size", c.vocab_size},
            {"activation_function", "gelu_new"},
            {"layer_norm_epsilon", c.norm_eps},
            {"resid_pdrop", c.dropout},
            {"embd_pdrop", c.dropout},
            {"attn_pdrop", c.dropout},
            {"initializer_range", c.init_std},
            {"scale_attn_weights", true},
            {"scale_attn_by_inverse_layer_idx", false},
            {"reorder_and_upcast_attn", false},
            {"tie_word_embeddings", c.tie_embeddings},
            {"use_cache", true},
            {"torch_dtype", "float32"}};
}

nlohmann::ordered_json llama_config(const model::ModelConfig& c) {
    nlohmann::ordered_json j = {{"architectures", {"LlamaForCausalLM"}},
                                {"model_type", "llama"},
                                {"hidden_size", c.d_model},
                                {"intermediate_size", c.d_ff},
                                {"num_hidden_layers", c.layers},
                                {"num_attention_heads", c.heads},
                                {"num_key_value_heads", c.heads},
                                {"head_dim", c.head_dim()},
                                {"max_position_embeddings", c.context},
                                {"rms_norm_eps", c.norm_eps},
                                {"rope_theta", c.rope_theta},
                                {"vocab_size", c.vocab_size},
                                {"tie_word_embeddings", c.tie_embeddings},
                                {"hidden_act", "silu"},
                                {"attention_bias", false},
                                {"attention_dropout", c.dropout},
                                {"mlp_bias", false},
                                {"initializer_range", c.init_std},
                                {"pretraining_tp", 1},
                                {"use_cache", true},
                                {"torch_dtype", "float32"}};
    // The tensors are written split, as transformers expects; these extra config keys (kept by
    // transformers' save_pretrained) tell import_hf to fuse them again.
    if (c.fused_qkv) {
        j["lowbit_fused_qkv"] = true;
    }
    if (c.fused_gate_up) {
        j["lowbit_fused_gate_up"] = true;
    }
    return j;
}

}  // namespace

void export_hf(const model::LanguageModelImpl& model,
               const std::filesystem::path& out_dir,
               const std::filesystem::path& tokenizer_model_or_empty) {
    const model::ModelConfig& cfg = model.config();
    std::filesystem::create_directories(out_dir);
    const SpecialIds ids = special_ids(tokenizer_model_or_empty);

    auto config = cfg.family == config::ModelFamily::kGpt2 ? gpt2_config(cfg) : llama_config(cfg);
    nlohmann::ordered_json generation = {{"_from_model_config", true}};
    for (auto* j : {&config, &generation}) {
        // Unknown ids are written as null so transformers' GPT-2 default (50256) is not assumed.
        (*j)["bos_token_id"] = ids.bos ? nlohmann::ordered_json(*ids.bos) : nullptr;
        (*j)["eos_token_id"] = ids.eos ? nlohmann::ordered_json(*ids.eos) : nullptr;
    }
    write_json(out_dir / "config.json", config);
    write_json(out_dir / "generation_config.json", generation);

    std::unordered_map<std::string, torch::Tensor> params;
    for (const auto& item : model.named_parameters()) {
        params.emplace(item.key(), item.value());
    }
    NamedTensors tensors;
    std::set<std::string> exported;  // our names written (a fused one fills several HF tensors)
    for (const auto& name : hf_tensor_names(cfg)) {
        auto it = params.find(name.ours);
        if (it == params.end()) {
            throw std::logic_error("export_hf: model has no parameter '" + name.ours + "'");
        }
        auto t = hf_part_of(it->second.detach(), name).to(torch::kCPU, torch::kFloat32);
        tensors.emplace_back(name.hf, name.transpose ? t.t().contiguous() : t.contiguous());
        exported.insert(name.ours);
    }
    if (exported.size() != params.size()) {
        throw std::logic_error("export_hf: the HF name map does not cover every parameter");
    }
    save_safetensors(out_dir / "model.safetensors", tensors, {{"format", "pt"}});

    if (!tokenizer_model_or_empty.empty()) {
        std::filesystem::copy_file(tokenizer_model_or_empty,
                                   out_dir / "tokenizer.model",
                                   std::filesystem::copy_options::overwrite_existing);
    } else {
        write_json(out_dir / "lowbit_tokenizer.json", {{"type", "byte"}, {"vocab_size", 256}});
    }
}

}  // namespace lowbit::io
