// save_finished_block / load_finished_block (see finished_block_file.h).
#include "lowbit/qat/finished_block_file.h"

#include "lowbit/io/format_error.h"
#include "lowbit/io/safetensors.h"

#include <string>

namespace lowbit::qat {

namespace {

constexpr const char* kNormPrefix = "norm.";

std::string metadata_at(const io::SafetensorsFile& file, const char* key) {
    const auto it = file.metadata.find(key);
    if (it == file.metadata.end()) {
        throw io::FormatError(file.path.string() + ": missing metadata '" + key +
                              "' (not a finished-block file)");
    }
    return it->second;
}

}  // namespace

void save_finished_block(const FinishedBlock& block,
                         const GroupQuantSpec& spec,
                         const std::filesystem::path& path) {
    io::NamedTensors tensors;
    for (const auto& [name, w] : block.linears) {
        tensors.emplace_back(name + ".qweight", w.qweight);
        tensors.emplace_back(name + ".qzeros", w.qzeros);
        tensors.emplace_back(name + ".scales", w.scales);
        tensors.emplace_back(name + ".g_idx", w.g_idx);
    }
    for (const auto& [name, value] : block.norms) {
        tensors.emplace_back(kNormPrefix + name, value);
    }
    io::save_safetensors(path,
                         tensors,
                         {{"block", std::to_string(block.index)},
                          {"bits", std::to_string(spec.bits)},
                          {"group_size", std::to_string(spec.group_size)}});
}

FinishedBlock load_finished_block(const std::filesystem::path& path,
                                  const model::LanguageModelImpl& model,
                                  int64_t index,
                                  const GroupQuantSpec& spec) {
    const io::SafetensorsFile file = io::load_safetensors(path);
    const std::string where = path.string();
    if (metadata_at(file, "block") != std::to_string(index) ||
        metadata_at(file, "bits") != std::to_string(spec.bits) ||
        metadata_at(file, "group_size") != std::to_string(spec.group_size)) {
        throw io::FormatError(where + ": holds block " + metadata_at(file, "block") + " at " +
                              metadata_at(file, "bits") + " bits, group " +
                              metadata_at(file, "group_size") + "; expected block " +
                              std::to_string(index) + " at " + std::to_string(spec.bits) +
                              " bits, group " + std::to_string(spec.group_size));
    }
    FinishedBlock block;
    block.index = index;
    for (const model::Linear& linear : model.block_linears(index)) {
        const std::string name = linear->path();
        PackedWeight w;
        w.spec = spec;
        w.in = linear->in_features();
        w.out = linear->out_features();
        w.qweight = file.at(name + ".qweight");
        w.qzeros = file.at(name + ".qzeros");
        w.scales = file.at(name + ".scales");
        w.g_idx = file.at(name + ".g_idx");
        try {
            check_packed_weight(w, name);
        } catch (const std::invalid_argument& e) {
            throw io::FormatError(where + ": " + e.what());
        }
        block.linears.emplace(name, std::move(w));
    }
    for (const auto& [name, tensor] : file.tensors) {
        if (name.starts_with(kNormPrefix)) {
            block.norms.emplace(name.substr(std::string(kNormPrefix).size()), tensor);
        }
    }
    // The norms' names and shapes are checked when the block is installed.
    return block;
}

}  // namespace lowbit::qat
