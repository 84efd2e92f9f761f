// A model whose block linears are packed, as one safetensors file (docs/efficientqat.md §Packed
// model file): every tensor that stays in floating point under its model name, each packed
// Linear as <path>.qweight, <path>.qzeros, <path>.scales and <path>.g_idx (and <path>.bias), and
// in the metadata the model configuration and a `quantization_config` that names the layout.
#pragma once

#include "lowbit/model/language_model.h"
#include "lowbit/qat/group_quantizer.h"

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace lowbit::qat {

// The metadata key naming the model's tokenizer: "byte", or a tokenizer.model file name beside
// the packed file. Absent: the file carries no tokenizer.
inline constexpr const char* kTokenizerMetadataKey = "lowbit_tokenizer";

// The `quantization_config` of a packed file: bits, group size, asymmetric with stored zero
// points (GPTQ v2), no act-order permutation, and which linears are packed.
nlohmann::json quantization_config(const GroupQuantSpec& spec);

// Writes `model`, whose every block Linear computes with a PackedLinear, to `path` atomically
// (a temporary file, then a rename). `metadata` is added to the file's metadata. Throws
// std::invalid_argument when a block Linear is not packed or the layers disagree on bits or
// group size, std::runtime_error on an I/O failure (the destination is then untouched).
void save_packed_model(const model::LanguageModelImpl& model,
                       const std::filesystem::path& path,
                       const std::map<std::string, std::string>& metadata = {});

struct PackedModel {
    std::shared_ptr<model::LanguageModelImpl> model;  // CPU, eval mode, PackedLinears installed
    GroupQuantSpec spec;
    std::map<std::string, std::string> metadata;
};

// Reads a file written by save_packed_model. Each packed Linear's float weight is set to its
// dequantized Ŵ, so the model also works without its PackedLinears (for an export or a dense
// comparison). A truncated or inconsistent file throws io::FormatError naming the file and the
// tensor or key, before any model is returned.
PackedModel load_packed_model(const std::filesystem::path& path);

// Removes the PackedLinears of `model` after writing each one's Ŵ into its float weight: a dense
// model with the same function (what `lowbit export --format hf` writes).
void dequantize_in_place(model::LanguageModelImpl& model);

// Bytes of the packed layers' tensors (codes, zero points, steps, g_idx) and the number of
// weights they hold.
struct PackedSize {
    int64_t bytes = 0;
    int64_t weights = 0;
};

PackedSize packed_size(const model::LanguageModelImpl& model);

}  // namespace lowbit::qat
