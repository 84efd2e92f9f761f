// A finished Block-AP (or RTN, or GPTQ) block as one safetensors file (docs/efficientqat.md §Run
// record): what a resumed run installs instead of training the block again. Each packed Linear
// is stored as <path>.qweight, <path>.qzeros, <path>.scales and <path>.g_idx, each trained norm
// gain as norm.<name inside the block>, and the metadata names the block, bits and group size.
#pragma once

#include "lowbit/model/language_model.h"
#include "lowbit/qat/block_ap.h"

#include <filesystem>

namespace lowbit::qat {

// Writes `block` to `path` atomically (a temporary file, then a rename).
void save_finished_block(const FinishedBlock& block,
                         const GroupQuantSpec& spec,
                         const std::filesystem::path& path);

// Reads a file written by save_finished_block for block `index` of `model`, quantized with
// `spec`. Throws io::FormatError naming the file and the tensor or key when it is truncated,
// belongs to another block or spec, or does not fit the model's layers.
FinishedBlock load_finished_block(const std::filesystem::path& path,
                                  const model::LanguageModelImpl& model,
                                  int64_t index,
                                  const GroupQuantSpec& spec);

}  // namespace lowbit::qat
