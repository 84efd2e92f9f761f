// import_hf: HF config.json -> ModelConfig (gpt2, llama), then the weights from model.safetensors
// or its sharded index, mapped back to our names (Conv1D weights transposed) and checked.
#include "lowbit/io/hf_import.h"

#include "lowbit/io/format_error.h"
#include "lowbit/io/hf_names.h"
#include "lowbit/io/safetensors.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

namespace lowbit::io {

namespace {

using Json = nlohmann::json;

// Reads the key from an HF config, naming the file and key when absent or mistyped.
class ConfigReader {
public:
    ConfigReader(const Json& j, const std::filesystem::path& file) : j_(j), file_(file.string()) {}

    template <typename T>
    T get(const char* key) const {
        if (!j_.contains(key) || j_[key].is_null()) {
            throw FormatError(file_ + ": missing key '" + key + "'");
        }
        return convert<T>(key);
    }

    template <typename T>
    T get_or(const char* key, T fallback) const {
        if (!j_.contains(key) || j_[key].is_null()) {
            return fallback;
        }
        return convert<T>(key);
    }

    [[noreturn]] void unsupported(const std::string& key, const std::string& why) const {
        throw FormatError(file_ + ": key '" + key + "': " + why);
    }

private:
    template <typename T>
    T convert(const char* key) const {
        try {
            return j_[key].get<T>();
        } catch (const Json::exception&) {
            throw FormatError(file_ + ": key '" + key + "' has the wrong type: " + j_[key].dump());
        }
    }

    const Json& j_;
    std::string file_;
};

std::string shape_string(at::IntArrayRef sizes) {
    std::ostringstream out;
    out << sizes;
    return out.str();
}

model::ModelConfig gpt2_from_hf(const ConfigReader& r) {
    model::ModelConfig c;
    c.family = config::ModelFamily::kGpt2;
    c.layers = r.get<int>("n_layer");
    c.heads = r.get<int>("n_head");
    c.d_model = r.get<int>("n_embd");
    c.context = r.get<int>("n_positions");
    c.vocab_size = r.get<int>("vocab_size");
    c.d_ff = r.get_or<int>("n_inner", 4 * c.d_model);  // null means 4·n_embd in HF
    c.norm_eps = r.get_or<double>("layer_norm_epsilon", 1e-5);
    c.dropout = r.get_or<double>("resid_pdrop", 0.0);
    c.tie_embeddings = r.get_or<bool>("tie_word_embeddings", true);
    c.init_std = r.get_or<double>("initializer_range", 0.02);
    const auto act = r.get_or<std::string>("activation_function", "gelu_new");
    if (act != "gelu_new" && act != "gelu_pytorch_tanh") {
        r.unsupported("activation_function", "'" + act + "' is not supported (gelu_new only)");
    }
    if (!r.get_or<bool>("scale_attn_weights", true)) {
        r.unsupported("scale_attn_weights", "false is not supported");
    }
    if (r.get_or<bool>("scale_attn_by_inverse_layer_idx", false)) {
        r.unsupported("scale_attn_by_inverse_layer_idx", "true is not supported");
    }
    if (r.get_or<bool>("add_cross_attention", false)) {
        r.unsupported("add_cross_attention", "true is not supported");
    }
    return c;
}

model::ModelConfig llama_from_hf(const Json& j, const ConfigReader& r) {
    model::ModelConfig c;
    c.family = config::ModelFamily::kLlama;
    c.layers = r.get<int>("num_hidden_layers");
    c.heads = r.get<int>("num_attention_heads");
    c.d_model = r.get<int>("hidden_size");
    c.d_ff = r.get<int>("intermediate_size");
    c.context = r.get<int>("max_position_embeddings");
    c.vocab_size = r.get<int>("vocab_size");
    c.norm_eps = r.get<double>("rms_norm_eps");
    c.tie_embeddings = r.get_or<bool>("tie_word_embeddings", false);
    c.dropout = r.get_or<double>("attention_dropout", 0.0);
    c.init_std = r.get_or<double>("initializer_range", 0.02);
    // Written by export_hf for a fused model (the tensors themselves are always split).
    c.fused_qkv = r.get_or<bool>("lowbit_fused_qkv", false);
    c.fused_gate_up = r.get_or<bool>("lowbit_fused_gate_up", false);
    // transformers < 5 writes rope_theta (+ rope_scaling); 5.x writes rope_parameters.
    if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
        const ConfigReader rope(j["rope_parameters"], "config.json rope_parameters");
        c.rope_theta = rope.get<double>("rope_theta");
        const auto type = rope.get_or<std::string>("rope_type", "default");
        if (type != "default") {
            r.unsupported("rope_parameters.rope_type", "'" + type + "' is not supported");
        }
    } else {
        c.rope_theta = r.get<double>("rope_theta");
        if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
            r.unsupported("rope_scaling", "RoPE scaling is not supported");
        }
    }
    if (r.get_or<int>("num_key_value_heads", c.heads) != c.heads) {
        r.unsupported("num_key_value_heads", "grouped-query attention is not supported");
    }
    if (c.heads > 0 && r.get_or<int>("head_dim", c.d_model / c.heads) * c.heads != c.d_model) {
        r.unsupported("head_dim", "must equal hidden_size / num_attention_heads");
    }
    const auto act = r.get_or<std::string>("hidden_act", "silu");
    if (act != "silu") {
        r.unsupported("hidden_act", "'" + act + "' is not supported (silu only)");
    }
    for (const char* key : {"attention_bias", "mlp_bias"}) {
        if (r.get_or<bool>(key, false)) {
            r.unsupported(key, "true is not supported");
        }
    }
    return c;
}

Json read_json(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) {
        throw FormatError(file.string() + ": cannot open");
    }
    try {
        return Json::parse(in);
    } catch (const Json::parse_error& e) {
        throw FormatError(file.string() + ": invalid JSON near byte " + std::to_string(e.byte) +
                          ": " + e.what());
    }
}

// name -> (tensor, file it came from), from model.safetensors or every shard of the index.
std::map<std::string, std::pair<torch::Tensor, std::string>> read_weights(
    const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> files;
    const auto single = dir / "model.safetensors";
    const auto index = dir / "model.safetensors.index.json";
    if (std::filesystem::exists(single)) {
        files.push_back(single);
    } else if (std::filesystem::exists(index)) {
        const Json j = read_json(index);
        if (!j.contains("weight_map") || !j["weight_map"].is_object()) {
            throw FormatError(index.string() + ": missing key 'weight_map'");
        }
        std::set<std::string> shards;
        for (const auto& [name, shard] : j["weight_map"].items()) {
            if (!shard.is_string()) {
                throw FormatError(index.string() + ": weight_map entry '" + name +
                                  "' is not a file name");
            }
            shards.insert(shard.get<std::string>());
        }
        for (const auto& shard : shards) {
            files.push_back(dir / shard);
        }
    } else {
        throw FormatError(dir.string() + ": no model.safetensors or model.safetensors.index.json");
    }
    std::map<std::string, std::pair<torch::Tensor, std::string>> weights;
    for (const auto& file : files) {
        for (auto& [name, tensor] : load_safetensors(file).tensors) {
            if (!weights.emplace(name, std::make_pair(tensor, file.string())).second) {
                throw FormatError(file.string() + ": tensor '" + name + "' also appears in " +
                                  weights[name].second);
            }
        }
    }
    return weights;
}

}  // namespace

model::ModelConfig model_config_from_hf(const nlohmann::json& hf_config,
                                        const std::filesystem::path& file) {
    if (!hf_config.is_object()) {
        throw FormatError(file.string() + ": expected a JSON object");
    }
    const ConfigReader r(hf_config, file);
    const auto type = r.get<std::string>("model_type");
    model::ModelConfig c;
    if (type == "gpt2") {
        c = gpt2_from_hf(r);
    } else if (type == "llama") {
        c = llama_from_hf(hf_config, r);
    } else {
        r.unsupported("model_type", "'" + type + "' is not supported (gpt2 or llama)");
    }
    try {
        model::validate(c);
    } catch (const std::invalid_argument& e) {
        throw FormatError(file.string() + ": " + e.what());
    }
    return c;
}

ImportedModel import_hf(const std::filesystem::path& dir) {
    const auto config_file = dir / "config.json";
    ImportedModel imported;
    imported.config = model_config_from_hf(read_json(config_file), config_file);
    auto weights = read_weights(dir);

    imported.model = model::create_model(imported.config, 0);
    std::unordered_map<std::string, torch::Tensor> params;
    for (const auto& item : imported.model->named_parameters()) {
        params.emplace(item.key(), item.value());
    }
    const auto names = hf_tensor_names(imported.config);
    std::set<std::string> used;
    torch::NoGradGuard no_grad;
    for (const auto& name : names) {
        torch::Tensor target = hf_part_of(params.at(name.ours), name);
        auto it = weights.find(name.hf);
        const std::vector<int64_t> expected =
            name.transpose ? target.t().sizes().vec() : target.sizes().vec();
        if (it == weights.end()) {
            throw FormatError(dir.string() + ": missing tensor '" + name.hf + "' (expected shape " +
                              shape_string(expected) + ")");
        }
        const auto& [tensor, file] = it->second;
        if (tensor.sizes() != expected) {
            throw FormatError(file + ": tensor '" + name.hf + "' has shape " +
                              shape_string(tensor.sizes()) + ", expected " +
                              shape_string(expected));
        }
        target.copy_(name.transpose ? tensor.t() : tensor);
        used.insert(name.hf);
    }
    for (const auto& [hf_name, entry] : weights) {
        const bool tied_head = imported.config.tie_embeddings && hf_name == "lm_head.weight";
        if (!used.contains(hf_name) && !tied_head &&
            !is_ignored_hf_tensor(imported.config, hf_name)) {
            throw FormatError(entry.second + ": unexpected tensor '" + hf_name + "' (shape " +
                              shape_string(entry.first.sizes()) + ") in a " +
                              model::family_name(imported.config.family) + " model");
        }
    }
    imported.model->eval();
    return imported;
}

}  // namespace lowbit::io
