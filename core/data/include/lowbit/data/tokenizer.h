// Tokenizers: byte-level (256 ids, the raw UTF-8 bytes) and SentencePiece (BPE or unigram,
// trained on the corpus with libsentencepiece, or loaded from an existing tokenizer.model).
#pragma once

#include "lowbit/config/recipe.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit::data {

class Tokenizer {
public:
    virtual ~Tokenizer() = default;
    virtual std::string kind() const = 0;  // "byte" | "sentencepiece"
    virtual int vocab_size() const = 0;
    virtual std::vector<uint32_t> encode(std::string_view text) const = 0;
    virtual std::string decode(std::span<const uint32_t> ids) const = 0;
    // Writes what is needed to load this tokenizer again into `dir` (tokenizer.model for
    // SentencePiece; nothing for bytes) and returns the file name written, or "".
    virtual std::string save(const std::filesystem::path& dir) const = 0;
};

std::unique_ptr<Tokenizer> make_byte_tokenizer();
std::unique_ptr<Tokenizer> load_sentencepiece(const std::filesystem::path& model_file);
// Trains on the given text files; writes <model_prefix>.model and .vocab. Deterministic.
std::unique_ptr<Tokenizer> train_sentencepiece(const std::vector<std::filesystem::path>& text_files,
                                               int vocab_size,
                                               config::SentencePieceType type,
                                               const std::filesystem::path& model_prefix);
// Loads the tokenizer a shard's sidecar names (tokenizer_model resolved beside the shard).
std::unique_ptr<Tokenizer> load_tokenizer_for_shard(const std::filesystem::path& shard_path);

}  // namespace lowbit::data
