// Import of a Hugging Face folder (GPT-2 or Llama architecture, model.safetensors or a sharded
// model.safetensors.index.json) into one of our models.
#pragma once

#include "lowbit/model/language_model.h"
#include "lowbit/model/model_config.h"

#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

namespace lowbit::io {

struct ImportedModel {
    model::ModelConfig config;
    std::shared_ptr<model::LanguageModelImpl> model;  // CPU, fp32, eval mode
};

// Reads dir/config.json and the weights. Unsupported architectures or options, missing keys,
// missing / unexpected / mis-shaped tensors throw io::FormatError naming the file and the key or
// tensor (with expected and actual shapes).
ImportedModel import_hf(const std::filesystem::path& dir);

// The ModelConfig described by a parsed HF config.json (`file` names it in errors).
model::ModelConfig model_config_from_hf(const nlohmann::json& hf_config,
                                        const std::filesystem::path& file);

}  // namespace lowbit::io
