// save_packed_model / load_packed_model: the packed model file of docs/efficientqat.md §Packed
// model file.
#include "lowbit/qat/packed_model.h"

#include "lowbit/io/format_error.h"
#include "lowbit/io/model_state.h"
#include "lowbit/io/safetensors.h"
#include "lowbit/qat/e2e_qp.h"
#include "lowbit/qat/packed_linear.h"

#include <set>
#include <stdexcept>

namespace lowbit::qat {

namespace {

constexpr const char* kConfigKey = "lowbit_model_config";
constexpr const char* kQuantKey = "quantization_config";

// The float-weight names of the packed layers (their .weight is not stored).
std::set<std::string> packed_weight_names(const model::LanguageModelImpl& model) {
    std::set<std::string> names;
    for (int64_t b = 0; b < model.block_count(); ++b) {
        for (const model::Linear& linear : model.block_linears(b)) {
            names.insert(linear->path() + ".weight");
        }
    }
    return names;
}

const torch::Tensor& tensor_at(const io::SafetensorsFile& file, const std::string& name) {
    const torch::Tensor* t = file.find(name);
    if (t == nullptr) {
        throw io::FormatError(file.path.string() + ": missing tensor '" + name + "'");
    }
    return *t;
}

}  // namespace

nlohmann::json quantization_config(const GroupQuantSpec& spec) {
    return {{"quant_method", "gptq"},
            {"checkpoint_format", "gptq_v2"},
            {"bits", spec.bits},
            {"group_size", spec.group_size},
            {"sym", false},
            {"desc_act", false},
            // 3-bit words hold 10 codes and 2 unused bits (docs/efficientqat.md §Packed layout).
            {"codes_per_int32", 32 / spec.bits},
            {"packed_modules", "every linear inside the transformer blocks"}};
}

void save_packed_model(const model::LanguageModelImpl& model,
                       const std::filesystem::path& path,
                       const std::map<std::string, std::string>& metadata) {
    const std::vector<std::shared_ptr<PackedLinear>> layers = packed_layers(model);
    if (layers.empty()) {
        throw std::invalid_argument("save_packed_model: the model has no block linears");
    }
    const std::set<std::string> skipped = packed_weight_names(model);
    io::NamedTensors tensors;
    for (const auto& [name, tensor] : io::model_state(model)) {
        if (!skipped.contains(name)) {
            tensors.emplace_back(name, tensor);
        }
    }
    GroupQuantSpec spec = layers.front()->packed().spec;
    size_t index = 0;
    for (int64_t b = 0; b < model.block_count(); ++b) {
        for (const model::Linear& linear : model.block_linears(b)) {
            const PackedWeight w = layers[index++]->packed();
            if (w.spec.bits != spec.bits || w.spec.group_size != spec.group_size) {
                throw std::invalid_argument("save_packed_model: layer " + linear->path() +
                                            " has another bit-width or group size");
            }
            tensors.emplace_back(linear->path() + ".qweight", w.qweight);
            tensors.emplace_back(linear->path() + ".qzeros", w.qzeros);
            tensors.emplace_back(linear->path() + ".scales", w.scales);
            tensors.emplace_back(linear->path() + ".g_idx", w.g_idx);
        }
    }
    std::map<std::string, std::string> meta = metadata;
    meta[kConfigKey] = model::to_json(model.config()).dump();
    meta[kQuantKey] = quantization_config(spec).dump();
    io::save_safetensors(path, tensors, meta);
}

PackedModel load_packed_model(const std::filesystem::path& path) {
    const io::SafetensorsFile file = io::load_safetensors(path);
    const std::string where = path.string();
    PackedModel result;
    result.metadata = file.metadata;
    model::ModelConfig config;
    try {
        config = model::model_config_from_json(nlohmann::json::parse(file.metadata.at(kConfigKey)));
        const nlohmann::json quant = nlohmann::json::parse(file.metadata.at(kQuantKey));
        result.spec.bits = quant.at("bits").get<int>();
        result.spec.group_size = quant.at("group_size").get<int64_t>();
        if (quant.at("checkpoint_format").get<std::string>() != "gptq_v2" ||
            quant.at("sym").get<bool>()) {
            throw std::invalid_argument("not the asymmetric gptq_v2 layout this engine writes");
        }
    } catch (const std::exception& e) {
        throw io::FormatError(where + ": metadata '" + kConfigKey + "' or '" + kQuantKey +
                              "' is missing or invalid: " + e.what() +
                              " (is this a packed model written by `lowbit qat`?)");
    }
    auto model = model::create_model(config, 0);
    model->eval();
    // Every packed layer is read and checked before anything is installed.
    std::map<std::string, PackedWeight> packed;
    for (int64_t b = 0; b < model->block_count(); ++b) {
        for (const model::Linear& linear : model->block_linears(b)) {
            PackedWeight w;
            w.spec = result.spec;
            w.in = linear->in_features();
            w.out = linear->out_features();
            w.qweight = tensor_at(file, linear->path() + ".qweight");
            w.qzeros = tensor_at(file, linear->path() + ".qzeros");
            w.scales = tensor_at(file, linear->path() + ".scales");
            w.g_idx = tensor_at(file, linear->path() + ".g_idx");
            try {
                check_packed_weight(w, linear->path());
            } catch (const std::invalid_argument& e) {
                throw io::FormatError(where + ": " + e.what());
            }
            packed.emplace(linear->path(), std::move(w));
        }
    }
    // The float tensors: the model's own names, less the packed weights, plus the packed ones.
    io::SafetensorsFile dense;
    dense.path = file.path;
    for (const auto& [name, tensor] : file.tensors) {
        const auto dot = name.rfind('.');
        const std::string layer = dot == std::string::npos ? name : name.substr(0, dot);
        if (!packed.contains(layer) || name == layer + ".bias") {
            dense.tensors.emplace_back(name, tensor);
        }
    }
    for (const auto& [layer, w] : packed) {
        dense.tensors.emplace_back(layer + ".weight", dequantize(w));
    }
    io::load_model_state(*model, dense);
    for (int64_t b = 0; b < model->block_count(); ++b) {
        for (model::Linear linear : model->block_linears(b)) {
            linear->set_weight_only(std::make_shared<PackedLinear>(packed.at(linear->path())));
        }
    }
    result.model = std::move(model);
    return result;
}

void dequantize_in_place(model::LanguageModelImpl& model) {
    torch::NoGradGuard no_grad;
    for (int64_t b = 0; b < model.block_count(); ++b) {
        for (model::Linear linear : model.block_linears(b)) {
            auto layer = std::dynamic_pointer_cast<PackedLinear>(linear->weight_only());
            if (layer) {
                torch::Tensor weight = linear->weight();
                weight.copy_(dequantize(layer->packed()));
                linear->set_weight_only(nullptr);
            }
        }
    }
}

PackedSize packed_size(const model::LanguageModelImpl& model) {
    PackedSize size;
    for (const auto& layer : packed_layers(model)) {
        const PackedWeight w = layer->packed();
        size.bytes += w.stored_bytes();
        size.weights += w.in * w.out;
    }
    return size;
}

}  // namespace lowbit::qat
