// SentencePiece tokenizers through libsentencepiece: training (BPE or unigram, byte fallback,
// identity normalisation so decode(encode(text)) == text), loading, encoding and saving.
#include "lowbit/data/data_error.h"
#include "lowbit/data/tokenizer.h"

#include <fstream>
#include <sstream>
#include <unordered_map>

#include "atomic_file.h"
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

namespace lowbit::data {

namespace {

// Texts are encoded in pieces of at most this many bytes: SentencePiece treats its input as one
// sentence, and a multi-megabyte sentence is slow and memory hungry.
constexpr size_t kEncodeChunkBytes = 1 << 16;
// Training lines longer than this are cut, since SentencePiece skips (not truncates) sentences
// above max_sentence_length, and builtin:markov text is a single line.
constexpr size_t kTrainLineBytes = 2048;

bool is_utf8_continuation(char c) {
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Splits text into chunks that end just before a space or just after a newline where possible,
// so chunk boundaries fall where SentencePiece would not join pieces anyway (pieces start with
// the whitespace marker and never contain a newline).
std::vector<std::string_view> split_text(std::string_view text, size_t max_bytes) {
    std::vector<std::string_view> chunks;
    size_t pos = 0;
    while (text.size() - pos > max_bytes) {
        const size_t limit = pos + max_bytes;
        size_t cut = 0;
        for (size_t j = limit; j > pos; --j) {
            if (text[j] == ' ' || text[j - 1] == '\n') {
                cut = j;
                break;
            }
        }
        if (cut == 0) {
            cut = limit;
            while (cut > pos + 1 && is_utf8_continuation(text[cut])) {
                --cut;
            }
        }
        chunks.push_back(text.substr(pos, cut - pos));
        pos = cut;
    }
    if (pos < text.size()) {
        chunks.push_back(text.substr(pos));
    }
    return chunks;
}

// Feeds the trainer the lines of the given files, long lines cut into pieces.
class LineIterator final : public sentencepiece::SentenceIterator {
public:
    explicit LineIterator(std::vector<std::filesystem::path> files) : files_(std::move(files)) {
        Next();
    }

    bool done() const override {
        return done_;
    }

    const std::string& value() const override {
        return value_;
    }

    sentencepiece::util::Status status() const override {
        return status_;
    }

    void Next() override {
        while (true) {
            if (pending_ < pieces_.size()) {
                value_ = std::string(pieces_[pending_++]);
                return;
            }
            if (in_.is_open() && std::getline(in_, line_)) {
                pieces_ = split_text(line_, kTrainLineBytes);
                pending_ = 0;
                continue;
            }
            if (next_file_ == files_.size()) {
                done_ = true;
                return;
            }
            in_.close();
            in_.clear();
            in_.open(files_[next_file_], std::ios::binary);
            if (!in_) {
                status_ = sentencepiece::util::Status(sentencepiece::util::StatusCode::kNotFound,
                                                      "cannot open " + files_[next_file_].string());
                done_ = true;
                return;
            }
            ++next_file_;
        }
    }

private:
    std::vector<std::filesystem::path> files_;
    size_t next_file_ = 0;
    std::ifstream in_;
    std::string line_;
    std::vector<std::string_view> pieces_;
    size_t pending_ = 0;
    std::string value_;
    bool done_ = false;
    sentencepiece::util::Status status_;
};

class SentencePieceTokenizer final : public Tokenizer {
public:
    SentencePieceTokenizer(std::unique_ptr<sentencepiece::SentencePieceProcessor> processor,
                           std::string serialized)
        : processor_(std::move(processor)), serialized_(std::move(serialized)) {}

    std::string kind() const override {
        return "sentencepiece";
    }

    int vocab_size() const override {
        return processor_->GetPieceSize();
    }

    std::vector<uint32_t> encode(std::string_view text) const override {
        std::vector<uint32_t> ids;
        std::vector<int> chunk_ids;
        for (const std::string_view chunk : split_text(text, kEncodeChunkBytes)) {
            const auto status = processor_->Encode(chunk, &chunk_ids);
            if (!status.ok()) {
                throw DataError("sentencepiece encode failed: " + status.ToString());
            }
            ids.insert(ids.end(), chunk_ids.begin(), chunk_ids.end());
        }
        return ids;
    }

    std::string decode(std::span<const uint32_t> ids) const override {
        std::vector<int> as_int(ids.size());
        const auto vocab = static_cast<uint32_t>(vocab_size());
        for (size_t i = 0; i < ids.size(); ++i) {
            if (ids[i] >= vocab) {
                throw DataError("sentencepiece tokenizer: id " + std::to_string(ids[i]) +
                                " at position " + std::to_string(i) + " is outside [0, " +
                                std::to_string(vocab) + ")");
            }
            as_int[i] = static_cast<int>(ids[i]);
        }
        std::string text;
        const auto status = processor_->Decode(as_int, &text);
        if (!status.ok()) {
            throw DataError("sentencepiece decode failed: " + status.ToString());
        }
        return text;
    }

    std::string save(const std::filesystem::path& dir) const override {
        write_file_atomically(dir / "tokenizer.model", serialized_);
        return "tokenizer.model";
    }

private:
    std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
    std::string serialized_;
};

const char* model_type_name(config::SentencePieceType type) {
    // Local names rather than config::to_string: the strings are SentencePiece's own flags.
    return type == config::SentencePieceType::kUnigram ? "unigram" : "bpe";
}

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece(const std::filesystem::path& model_file) {
    std::ifstream in(model_file, std::ios::binary);
    if (!in) {
        throw DataError("no such file or directory: " + model_file.string() +
                        " (SentencePiece tokenizer model)");
    }
    std::stringstream bytes;
    bytes << in.rdbuf();
    std::string serialized = bytes.str();
    auto processor = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto status = processor->LoadFromSerializedProto(serialized);
    if (!status.ok() || processor->GetPieceSize() <= 0) {
        throw DataError(model_file.string() + ": not a valid SentencePiece model (" +
                        (status.ok() ? std::string("no pieces") : status.ToString()) + ")");
    }
    return std::make_unique<SentencePieceTokenizer>(std::move(processor), std::move(serialized));
}

std::unique_ptr<Tokenizer> train_sentencepiece(const std::vector<std::filesystem::path>& text_files,
                                               int vocab_size,
                                               config::SentencePieceType type,
                                               const std::filesystem::path& model_prefix) {
    if (text_files.empty()) {
        throw DataError("cannot train a SentencePiece tokenizer: no text files given");
    }
    for (const auto& file : text_files) {
        if (!std::filesystem::exists(file)) {
            throw DataError("no such file or directory: " + file.string());
        }
    }
    // Byte fallback needs 256 byte pieces plus <unk>, <s>, </s> in the vocabulary.
    if (vocab_size < 260) {
        throw DataError("SentencePiece vocab_size " + std::to_string(vocab_size) +
                        " is too small: byte fallback needs at least 260");
    }
    const std::unordered_map<std::string, std::string> args = {
        {"model_prefix", model_prefix.string()},
        {"model_type", model_type_name(type)},
        {"vocab_size", std::to_string(vocab_size)},
        {"character_coverage", "1.0"},
        {"byte_fallback", "true"},
        // Identity normalisation without whitespace folding or a dummy prefix keeps the
        // tokenizer lossless, so chunked encoding concatenates and perplexities are comparable.
        {"normalization_rule_name", "identity"},
        {"remove_extra_whitespaces", "false"},
        {"add_dummy_prefix", "false"},
        // A small corpus may not support the requested vocabulary; take what it supports.
        {"hard_vocab_limit", "false"},
        {"max_sentence_length", std::to_string(4 * kTrainLineBytes)},
        // Determinism: one thread, fixed sampling of at most 2M lines with a fixed seed.
        {"num_threads", "1"},
        {"input_sentence_size", "2000000"},
        {"shuffle_input_sentence", "true"},
        {"minloglevel", "2"},
    };
    sentencepiece::SetRandomGeneratorSeed(20240601u);
    LineIterator lines(text_files);
    const auto status = sentencepiece::SentencePieceTrainer::Train(args, &lines);
    if (!status.ok()) {
        throw DataError("SentencePiece training on " + text_files.front().string() +
                        (text_files.size() > 1 ? " and others" : "") +
                        " failed: " + status.ToString());
    }
    return load_sentencepiece(model_prefix.string() + ".model");
}

}  // namespace lowbit::data
