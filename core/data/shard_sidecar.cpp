// The JSON sidecar of a token shard: (de)serialisation of ShardMeta with nlohmann_json and
// validation that names the sidecar and the offending field.
#include "lowbit/data/data_error.h"
#include "lowbit/data/token_shard.h"

#include <fstream>
#include <sstream>

#include "atomic_file.h"
#include <nlohmann/json.hpp>

namespace lowbit::data {

namespace {

using nlohmann::json;

[[noreturn]] void malformed(const std::filesystem::path& sidecar, const std::string& what) {
    throw DataError(sidecar.string() + ": malformed shard sidecar: " + what);
}

const json& require(const json& doc, const std::filesystem::path& sidecar, const char* key) {
    const auto it = doc.find(key);
    if (it == doc.end()) {
        malformed(sidecar, std::string("field '") + key + "' is missing");
    }
    return *it;
}

int64_t require_integer(const json& doc, const std::filesystem::path& sidecar, const char* key) {
    const json& value = require(doc, sidecar, key);
    if (!value.is_number_integer()) {
        malformed(sidecar, std::string("field '") + key + "' must be an integer");
    }
    return value.get<int64_t>();
}

std::string optional_string(const json& doc,
                            const std::filesystem::path& sidecar,
                            const char* key) {
    const auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) {
        return "";
    }
    if (!it->is_string()) {
        malformed(sidecar, std::string("field '") + key + "' must be a string");
    }
    return it->get<std::string>();
}

}  // namespace

std::filesystem::path sidecar_path(const std::filesystem::path& shard_path) {
    return std::filesystem::path(shard_path.string() + ".json");
}

std::optional<ShardMeta> read_shard_sidecar(const std::filesystem::path& shard_path) {
    const std::filesystem::path sidecar = sidecar_path(shard_path);
    std::ifstream in(sidecar, std::ios::binary);
    if (!in) {
        if (!std::filesystem::exists(sidecar)) {
            return std::nullopt;
        }
        throw DataError(sidecar.string() + ": cannot open for reading");
    }
    std::stringstream text;
    text << in.rdbuf();
    json doc;
    try {
        doc = json::parse(text.str());
    } catch (const json::parse_error& e) {
        malformed(sidecar, std::string("not valid JSON (") + e.what() + ")");
    }
    if (!doc.is_object()) {
        malformed(sidecar, "expected a JSON object");
    }

    ShardMeta meta;
    const json& tokenizer = require(doc, sidecar, "tokenizer");
    if (!tokenizer.is_string()) {
        malformed(sidecar, "field 'tokenizer' must be a string");
    }
    meta.tokenizer = tokenizer.get<std::string>();
    meta.tokenizer_model = optional_string(doc, sidecar, "tokenizer_model");
    const int64_t vocab = require_integer(doc, sidecar, "vocab_size");
    if (vocab < 1 || vocab > (int64_t{1} << 31) - 1) {
        malformed(sidecar, "vocab_size " + std::to_string(vocab) + " is out of range");
    }
    meta.vocab_size = static_cast<int>(vocab);
    const int64_t width = require_integer(doc, sidecar, "token_bytes");
    if (width != 2 && width != 4) {
        malformed(sidecar, "token_bytes must be 2 or 4, not " + std::to_string(width));
    }
    meta.token_bytes = static_cast<int>(width);
    meta.tokens = require_integer(doc, sidecar, "tokens");
    if (meta.tokens < 0) {
        malformed(sidecar, "tokens must not be negative");
    }
    if (const auto it = doc.find("sources"); it != doc.end() && !it->is_null()) {
        if (!it->is_array()) {
            malformed(sidecar, "field 'sources' must be an array of strings");
        }
        for (const json& source : *it) {
            if (!source.is_string()) {
                malformed(sidecar, "field 'sources' must be an array of strings");
            }
            meta.sources.push_back(source.get<std::string>());
        }
    }
    meta.sha256 = optional_string(doc, sidecar, "sha256");
    if (const auto it = doc.find("entropy_rate_nats_per_token");
        it != doc.end() && !it->is_null()) {
        if (!it->is_number()) {
            malformed(sidecar, "field 'entropy_rate_nats_per_token' must be a number");
        }
        meta.entropy_rate_nats_per_token = it->get<double>();
    }
    return meta;
}

void write_shard_sidecar(const std::filesystem::path& shard_path, const ShardMeta& meta) {
    json doc = {
        {"tokenizer", meta.tokenizer},
        {"tokenizer_model", meta.tokenizer_model},
        {"vocab_size", meta.vocab_size},
        {"token_bytes", meta.token_bytes},
        {"tokens", meta.tokens},
        {"sources", meta.sources},
        {"sha256", meta.sha256},
    };
    if (meta.entropy_rate_nats_per_token) {
        doc["entropy_rate_nats_per_token"] = *meta.entropy_rate_nats_per_token;
    }
    write_file_atomically(sidecar_path(shard_path), doc.dump(2) + "\n");
}

}  // namespace lowbit::data
