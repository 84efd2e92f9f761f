// prepare_corpus_cached: a content-addressed cache of prepared corpora. The key hashes a
// canonical JSON description of everything the shards depend on (settings and the sha256 of
// every input file), so an edited input or setting gives a new folder and an old one is reused
// only when it is complete (its "complete" marker is written last, then the folder is renamed
// into place).
#include "lowbit/data/corpus.h"
#include "lowbit/data/data_error.h"
#include "lowbit/data/sha256.h"

#include <atomic>

#include "atomic_file.h"
#include "corpus_inputs.h"
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace lowbit::data {

namespace {

using nlohmann::json;

constexpr const char* kCompleteMarker = "complete";
constexpr int kCacheFormatVersion = 1;

std::atomic<unsigned> temp_counter{0};

const char* format_name(config::DataFormat format) {
    switch (format) {
        case config::DataFormat::kText:
            return "text";
        case config::DataFormat::kJsonl:
            return "jsonl";
        case config::DataFormat::kTokens:
            return "tokens";
        case config::DataFormat::kAuto:
            break;
    }
    return "auto";
}

json describe_inputs(const std::vector<InputFile>& inputs, bool& uses_markov) {
    json list = json::array();
    for (const InputFile& input : inputs) {
        if (input.kind == InputKind::kMarkov) {
            uses_markov = true;
            list.push_back({{"builtin", "markov"}});
            continue;
        }
        json item = {{"path", input.path.string()}, {"sha256", sha256_file(input.path)}};
        // A token file's sidecar names its tokenizer, which decides compatibility.
        if (input.kind == InputKind::kTokens) {
            const auto sidecar = sidecar_path(input.path);
            item["sidecar_sha256"] =
                std::filesystem::exists(sidecar) ? json(sha256_file(sidecar)) : json(nullptr);
        }
        list.push_back(std::move(item));
    }
    return list;
}

json describe(const config::DataSpec& spec) {
    bool uses_markov = false;
    json doc = {
        {"version", kCacheFormatVersion},
        {"format", format_name(spec.format)},
        {"train", describe_inputs(resolve_inputs(spec.train, spec.format), uses_markov)},
        {"val", describe_inputs(resolve_inputs(spec.val, spec.format), uses_markov)},
    };
    if (spec.val.empty()) {
        doc["val_fraction"] = spec.val_fraction;
    }
    if (spec.tokenizer == config::TokenizerKind::kByte) {
        doc["tokenizer"] = "byte";
    } else {
        doc["tokenizer"] = "sentencepiece";
        if (spec.tokenizer_model.empty()) {
            doc["sentencepiece_type"] =
                spec.sentencepiece_type == config::SentencePieceType::kUnigram ? "unigram" : "bpe";
            doc["vocab_size"] = spec.vocab_size;
        } else {
            const auto model = std::filesystem::path(spec.tokenizer_model);
            if (!std::filesystem::exists(model)) {
                throw DataError("no such file or directory: " + spec.tokenizer_model);
            }
            doc["tokenizer_model"] = {
                {"path", std::filesystem::absolute(model).lexically_normal().string()},
                {"sha256", sha256_file(model)}};
        }
    }
    if (uses_markov) {
        doc["markov"] = {{"words", spec.markov.words},
                         {"successors", spec.markov.successors},
                         {"concentration", spec.markov.concentration},
                         {"tokens", spec.markov.tokens},
                         {"seed", spec.markov.seed}};
    }
    return doc;
}

// The prepared data in dir when it is complete, else nullopt.
std::optional<PreparedData> load_complete(const std::filesystem::path& dir) {
    PreparedData prepared;
    prepared.dir = dir;
    prepared.train_path = dir / "train.bin";
    prepared.val_path = dir / "val.bin";
    std::error_code ec;
    if (!std::filesystem::exists(dir / kCompleteMarker, ec) ||
        !std::filesystem::exists(prepared.train_path, ec) ||
        !std::filesystem::exists(prepared.val_path, ec)) {
        return std::nullopt;
    }
    auto train_meta = read_shard_sidecar(prepared.train_path);
    auto val_meta = read_shard_sidecar(prepared.val_path);
    if (!train_meta || !val_meta) {
        return std::nullopt;
    }
    prepared.train_meta = std::move(*train_meta);
    prepared.val_meta = std::move(*val_meta);
    return prepared;
}

}  // namespace

PreparedData prepare_corpus_cached(const config::DataSpec& spec,
                                   const std::filesystem::path& cache_root) {
    check_data_sources(spec);
    const json description = describe(spec);
    const std::string key = sha256_hex(description.dump());
    const std::filesystem::path final_dir = cache_root / key;
    if (auto cached = load_complete(final_dir)) {
        return *cached;
    }

    std::filesystem::create_directories(cache_root);
    const std::filesystem::path temp_dir =
        cache_root / (".tmp-" + key.substr(0, 16) + "-" + std::to_string(::getpid()) + "-" +
                      std::to_string(temp_counter.fetch_add(1)));
    std::filesystem::remove_all(temp_dir);
    try {
        prepare_corpus(spec, temp_dir);
        write_file_atomically(temp_dir / "data.json", description.dump(2) + "\n");
        write_file_atomically(temp_dir / kCompleteMarker, key + "\n");
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove_all(temp_dir, ignored);
        throw;
    }

    // An incomplete folder under the key is a leftover of an interrupted older layout or crash.
    if (std::filesystem::exists(final_dir) && !load_complete(final_dir)) {
        std::filesystem::remove_all(final_dir);
    }
    std::error_code ec;
    std::filesystem::rename(temp_dir, final_dir, ec);
    if (ec) {
        // Another process finished the same preparation first: use theirs.
        std::error_code ignored;
        std::filesystem::remove_all(temp_dir, ignored);
        if (auto theirs = load_complete(final_dir)) {
            return *theirs;
        }
        throw DataError(final_dir.string() +
                        ": cannot move the prepared corpus into the cache: " + ec.message());
    }
    sync_directory(cache_root);
    auto prepared = load_complete(final_dir);
    if (!prepared) {
        throw DataError(final_dir.string() + ": prepared corpus is incomplete after rename");
    }
    return *prepared;
}

}  // namespace lowbit::data
