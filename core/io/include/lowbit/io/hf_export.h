// Export of a model as a Hugging Face folder (GPT2LMHeadModel or LlamaForCausalLM): config.json,
// generation_config.json, model.safetensors under HF tensor names, and the tokenizer.
#pragma once

#include "lowbit/model/language_model.h"

#include <filesystem>

namespace lowbit::io {

// Writes into out_dir (created if needed): config.json, generation_config.json, model.safetensors
// (fp32, HF names, GPT-2 Conv1D weights transposed), and tokenizer.model copied from
// tokenizer_model_or_empty, or lowbit_tokenizer.json {"type": "byte", "vocab_size": 256} when
// empty. Throws std::runtime_error on I/O failure.
void export_hf(const model::LanguageModelImpl& model,
               const std::filesystem::path& out_dir,
               const std::filesystem::path& tokenizer_model_or_empty);

}  // namespace lowbit::io
