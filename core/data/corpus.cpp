// prepare_corpus: inputs -> documents -> tokenizer (byte, loaded or trained SentencePiece) ->
// one token stream -> train/val split -> shards with sidecars in out_dir.
#include "lowbit/data/corpus.h"

#include "lowbit/data/data_error.h"
#include "lowbit/data/markov_source.h"
#include "lowbit/data/sha256.h"
#include "lowbit/data/tokenizer.h"

#include <cmath>
#include <fstream>
#include <optional>

#include "corpus_inputs.h"
#include "random.h"

namespace lowbit::data {

namespace {

constexpr const char* kDocumentSeparator = "\n\n";

// Consecutive documents are joined into one text; token files stay separate segments.
struct Segment {
    bool is_tokens = false;
    std::string text;
    std::filesystem::path token_file;
};

struct Side {
    std::vector<Segment> segments;
    std::vector<std::string> sources;
    bool pure_markov = false;
    size_t bytes_and_tokens = 0;  // zero means an empty corpus
};

void append_document(Side& side, std::string document) {
    if (document.empty()) {
        return;  // an empty document would only add a stray separator
    }
    side.bytes_and_tokens += document.size();
    if (side.segments.empty() || side.segments.back().is_tokens) {
        side.segments.push_back({false, std::move(document), {}});
    } else {
        side.segments.back().text += kDocumentSeparator;
        side.segments.back().text += document;
    }
}

Side load_side(const std::vector<InputFile>& inputs,
               const config::MarkovSpec& markov,
               bool is_validation) {
    Side side;
    for (const InputFile& input : inputs) {
        switch (input.kind) {
            case InputKind::kMarkov: {
                const MarkovSource source = make_markov_source(markov);
                config::MarkovSpec walk = markov;
                // A separate validation source walks the same chain with its own stream.
                if (is_validation) {
                    walk.seed = mix64(markov.seed ^ 0x76616cull);
                }
                append_document(side, generate_markov_text(source, walk));
                side.sources.push_back(kMarkovInput);
                side.pure_markov = true;
                break;
            }
            case InputKind::kText:
                append_document(side, read_text_file(input.path));
                side.sources.push_back(input.path.string());
                break;
            case InputKind::kJsonl:
                for (std::string& doc : read_jsonl_documents(input.path)) {
                    append_document(side, std::move(doc));
                }
                side.sources.push_back(input.path.string());
                break;
            case InputKind::kTokens: {
                // Opened here for its checks; the tokens are read again after the tokenizer
                // is known, to check compatibility first.
                const TokenShard shard = TokenShard::open(input.path, 2);
                side.bytes_and_tokens += static_cast<size_t>(shard.size());
                side.segments.push_back({true, {}, input.path});
                side.sources.push_back(input.path.string());
                break;
            }
        }
    }
    return side;
}

std::unique_ptr<Tokenizer> make_tokenizer(const config::DataSpec& spec,
                                          const Side& train,
                                          const std::filesystem::path& out_dir) {
    if (spec.tokenizer == config::TokenizerKind::kByte) {
        return make_byte_tokenizer();
    }
    if (!spec.tokenizer_model.empty()) {
        return load_sentencepiece(spec.tokenizer_model);
    }
    bool has_text = false;
    for (const Segment& segment : train.segments) {
        has_text = has_text || !segment.is_tokens;
    }
    if (!has_text) {
        // Only token files: reuse the tokenizer that made the first of them.
        for (const Segment& segment : train.segments) {
            const auto meta = read_shard_sidecar(segment.token_file);
            if (meta && meta->tokenizer == "sentencepiece") {
                return load_tokenizer_for_shard(segment.token_file);
            }
        }
        throw DataError(
            "no text to train a SentencePiece tokenizer on and no tokenizer_model given: " +
            describe_entries(spec.train));
    }
    // Training reads files, so the joined training text goes to a temporary file first.
    const std::filesystem::path text_file = out_dir / ".sentencepiece-train.txt";
    const std::filesystem::path prefix = out_dir / ".sentencepiece";

    struct Cleanup {
        std::filesystem::path text, prefix;

        ~Cleanup() {
            std::error_code ignored;
            std::filesystem::remove(text, ignored);
            std::filesystem::remove(prefix.string() + ".model", ignored);
            std::filesystem::remove(prefix.string() + ".vocab", ignored);
        }
    } cleanup{text_file, prefix};

    {
        std::ofstream out(text_file, std::ios::binary);
        for (const Segment& segment : train.segments) {
            if (!segment.is_tokens) {
                out << segment.text << '\n';
            }
        }
        if (!out) {
            throw DataError(text_file.string() + ": cannot write SentencePiece training text");
        }
    }
    return train_sentencepiece({text_file}, spec.vocab_size, spec.sentencepiece_type, prefix);
}

// Checks that a token file was made by the tokenizer in use and appends its tokens.
void append_token_file(const std::filesystem::path& file,
                       const Tokenizer& tokenizer,
                       const std::filesystem::path& model_file,
                       std::vector<uint32_t>& out) {
    const TokenShard shard = TokenShard::open(file, 2);
    const ShardMeta& meta = shard.meta();
    if (meta.tokenizer == "unknown") {
        if (meta.vocab_size > tokenizer.vocab_size()) {
            throw DataError(file.string() + ": has no sidecar and holds token " +
                            std::to_string(meta.vocab_size - 1) + ", outside the " +
                            tokenizer.kind() + " tokenizer's vocabulary of " +
                            std::to_string(tokenizer.vocab_size()));
        }
    } else if (meta.tokenizer != tokenizer.kind()) {
        throw DataError(file.string() + ": its tokens were made with the " + meta.tokenizer +
                        " tokenizer, but the recipe asks for " + tokenizer.kind());
    } else if (meta.tokenizer == "sentencepiece") {
        std::filesystem::path theirs = meta.tokenizer_model;
        if (theirs.is_relative()) {
            theirs = file.parent_path() / theirs;
        }
        if (!std::filesystem::exists(theirs) || sha256_file(theirs) != sha256_file(model_file)) {
            throw DataError(file.string() + ": its tokens were made with " + theirs.string() +
                            ", which is not the SentencePiece model in use");
        }
    }
    const size_t start = out.size();
    out.resize(start + static_cast<size_t>(shard.size()));
    std::vector<int64_t> wide(static_cast<size_t>(shard.size()));
    shard.copy_to(0, shard.size(), wide.data());
    for (size_t i = 0; i < wide.size(); ++i) {
        out[start + i] = static_cast<uint32_t>(wide[i]);
    }
}

std::vector<uint32_t> tokenize_side(const Side& side,
                                    const Tokenizer& tokenizer,
                                    const std::filesystem::path& model_file) {
    std::vector<uint32_t> tokens;
    for (const Segment& segment : side.segments) {
        if (segment.is_tokens) {
            append_token_file(segment.token_file, tokenizer, model_file, tokens);
        } else {
            const std::vector<uint32_t> ids = tokenizer.encode(segment.text);
            tokens.insert(tokens.end(), ids.begin(), ids.end());
        }
    }
    return tokens;
}

}  // namespace

PreparedData prepare_corpus(const config::DataSpec& spec, const std::filesystem::path& out_dir) {
    check_data_sources(spec);
    const std::vector<InputFile> train_inputs = resolve_inputs(spec.train, spec.format);
    const std::vector<InputFile> val_inputs =
        spec.val.empty() ? std::vector<InputFile>{} : resolve_inputs(spec.val, spec.format);
    if (train_inputs.empty()) {
        throw DataError("empty corpus: no .txt, .jsonl or .bin files in " +
                        describe_entries(spec.train));
    }
    if (spec.val.empty() && !(spec.val_fraction > 0.0 && spec.val_fraction < 1.0)) {
        throw DataError(
            "val_fraction must be in (0, 1) when no separate validation data is "
            "given, not " +
            std::to_string(spec.val_fraction));
    }
    const Side train = load_side(train_inputs, spec.markov, false);
    if (train.bytes_and_tokens == 0) {
        throw DataError("empty corpus: no text or tokens in " + describe_entries(spec.train));
    }
    std::optional<Side> val;
    if (!spec.val.empty()) {
        val = load_side(val_inputs, spec.markov, true);
        if (val->bytes_and_tokens == 0) {
            throw DataError("empty validation corpus: no text or tokens in " +
                            describe_entries(spec.val));
        }
    }

    std::filesystem::create_directories(out_dir);
    const std::unique_ptr<Tokenizer> tokenizer = make_tokenizer(spec, train, out_dir);
    const std::string model_name = tokenizer->save(out_dir);
    const std::filesystem::path model_file = model_name.empty() ? "" : out_dir / model_name;

    std::vector<uint32_t> train_tokens = tokenize_side(train, *tokenizer, model_file);
    std::vector<uint32_t> val_tokens;
    if (val) {
        val_tokens = tokenize_side(*val, *tokenizer, model_file);
    } else {
        const auto total = static_cast<int64_t>(train_tokens.size());
        const int64_t n_val =
            std::max<int64_t>(1, std::llround(static_cast<double>(total) * spec.val_fraction));
        if (total - n_val < 1) {
            throw DataError("corpus too small: " + std::to_string(total) +
                            " tokens cannot be split into train and validation (val_fraction " +
                            std::to_string(spec.val_fraction) + ") in " +
                            describe_entries(spec.train));
        }
        val_tokens.assign(train_tokens.end() - n_val, train_tokens.end());
        train_tokens.resize(static_cast<size_t>(total - n_val));
    }

    ShardMeta meta;
    meta.tokenizer = tokenizer->kind();
    meta.tokenizer_model = model_name;
    meta.vocab_size = tokenizer->vocab_size();
    // The per-character rate is the per-token rate only for bytes; a SentencePiece token spans
    // a varying number of characters, so its rate is unknown and left out.
    const bool bytes = tokenizer->kind() == "byte";
    std::optional<double> markov_rate;
    if (bytes && (train.pure_markov || (val && val->pure_markov))) {
        markov_rate = make_markov_source(spec.markov).entropy_rate_nats_per_char;
    }

    PreparedData prepared;
    prepared.dir = out_dir;
    prepared.train_path = out_dir / "train.bin";
    prepared.val_path = out_dir / "val.bin";

    ShardMeta train_meta = meta;
    train_meta.sources = train.sources;
    if (train.pure_markov) {
        train_meta.entropy_rate_nats_per_token = markov_rate;
    }
    ShardMeta val_meta = meta;
    val_meta.sources = val ? val->sources : train.sources;
    if (val ? val->pure_markov : train.pure_markov) {
        val_meta.entropy_rate_nats_per_token = markov_rate;
    }
    prepared.train_meta = write_token_shard(prepared.train_path, train_tokens, train_meta);
    prepared.val_meta = write_token_shard(prepared.val_path, val_tokens, val_meta);
    return prepared;
}

}  // namespace lowbit::data
