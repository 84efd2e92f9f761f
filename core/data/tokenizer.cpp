// The byte tokenizer (ids are the raw bytes, so any text round-trips exactly) and
// load_tokenizer_for_shard, which picks the tokenizer a shard's sidecar names.
#include "lowbit/data/tokenizer.h"

#include "lowbit/data/data_error.h"
#include "lowbit/data/token_shard.h"

namespace lowbit::data {

namespace {

class ByteTokenizer final : public Tokenizer {
public:
    std::string kind() const override {
        return "byte";
    }

    int vocab_size() const override {
        return 256;
    }

    std::vector<uint32_t> encode(std::string_view text) const override {
        std::vector<uint32_t> ids(text.size());
        for (size_t i = 0; i < text.size(); ++i) {
            ids[i] = static_cast<unsigned char>(text[i]);
        }
        return ids;
    }

    std::string decode(std::span<const uint32_t> ids) const override {
        std::string text(ids.size(), '\0');
        for (size_t i = 0; i < ids.size(); ++i) {
            if (ids[i] > 255) {
                throw DataError("byte tokenizer: id " + std::to_string(ids[i]) + " at position " +
                                std::to_string(i) + " is outside [0, 256)");
            }
            text[i] = static_cast<char>(ids[i]);
        }
        return text;
    }

    std::string save(const std::filesystem::path& /*dir*/) const override {
        return "";  // nothing to store: the byte tokenizer has no parameters
    }
};

}  // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer() {
    return std::make_unique<ByteTokenizer>();
}

std::unique_ptr<Tokenizer> load_tokenizer_for_shard(const std::filesystem::path& shard_path) {
    const std::optional<ShardMeta> meta = read_shard_sidecar(shard_path);
    if (!meta) {
        throw DataError(shard_path.string() + ": no sidecar " + sidecar_path(shard_path).string() +
                        " naming its tokenizer");
    }
    if (meta->tokenizer == "byte") {
        return make_byte_tokenizer();
    }
    if (meta->tokenizer == "sentencepiece") {
        if (meta->tokenizer_model.empty()) {
            throw DataError(sidecar_path(shard_path).string() +
                            ": tokenizer is sentencepiece but tokenizer_model is empty");
        }
        // A relative name is resolved beside the shard, so a prepared folder can be moved.
        std::filesystem::path model = meta->tokenizer_model;
        if (model.is_relative()) {
            model = shard_path.parent_path() / model;
        }
        auto tokenizer = load_sentencepiece(model);
        if (tokenizer->vocab_size() != meta->vocab_size) {
            throw DataError(sidecar_path(shard_path).string() + ": vocab_size " +
                            std::to_string(meta->vocab_size) + " disagrees with " + model.string() +
                            " (" + std::to_string(tokenizer->vocab_size()) + " pieces)");
        }
        return tokenizer;
    }
    throw DataError(sidecar_path(shard_path).string() + ": unknown tokenizer '" + meta->tokenizer +
                    "' (expected byte or sentencepiece)");
}

}  // namespace lowbit::data
