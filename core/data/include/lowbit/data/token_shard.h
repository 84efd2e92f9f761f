// Token shards: little-endian uint16 or uint32 token files (the nanoGPT .bin convention) with a
// JSON sidecar `<file>.json` (tokenizer, vocab size, token width, count, sources, sha256).
// TokenShard memory-maps the file read-only; a length that is not a multiple of the token width,
// a token >= vocab_size in the sidecar, or a checksum mismatch is a DataError naming the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace lowbit::data {

struct ShardMeta {
    std::string tokenizer = "byte";  // "byte" | "sentencepiece"
    std::string tokenizer_model;  // file name of tokenizer.model beside the shard (sentencepiece)
    int vocab_size = 256;
    int token_bytes = 2;  // 2 (uint16) or 4 (uint32)
    int64_t tokens = 0;
    std::vector<std::string> sources;                   // input files or "builtin:markov"
    std::string sha256;                                 // of the .bin bytes
    std::optional<double> entropy_rate_nats_per_token;  // known loss floor (builtin:markov)
};

// Writes `tokens` to `path` (uint16 when vocab_size <= 65536, else uint32) and the sidecar, both
// atomically (temporary file, fsync, rename). Fills meta.tokens, token_bytes and sha256.
ShardMeta write_token_shard(const std::filesystem::path& path,
                            std::span<const uint32_t> tokens,
                            ShardMeta meta);

// `<shard>.json`, the sidecar beside a shard.
std::filesystem::path sidecar_path(const std::filesystem::path& shard_path);
// Reads and validates the sidecar of `shard_path`; nullopt when there is none. Throws DataError
// naming the sidecar when it is malformed (not JSON, a field missing or of the wrong type).
std::optional<ShardMeta> read_shard_sidecar(const std::filesystem::path& shard_path);
// Writes the sidecar of `shard_path` atomically.
void write_shard_sidecar(const std::filesystem::path& shard_path, const ShardMeta& meta);

class TokenShard {
public:
    // Opens path (.bin); reads the sidecar when present, else needs `token_bytes_if_no_sidecar`.
    // verify_checksum recomputes sha256 (costs one pass over the file). Every open also checks
    // that all tokens are below the sidecar's vocab_size (one pass over the mapped file), since
    // an out-of-range id would otherwise surface as a CUDA device assert in the embedding.
    // Without a sidecar, meta() has tokenizer "unknown" and vocab_size = largest token + 1.
    static TokenShard open(const std::filesystem::path& path,
                           std::optional<int> token_bytes_if_no_sidecar = std::nullopt,
                           bool verify_checksum = false);
    TokenShard(TokenShard&&) noexcept;
    TokenShard& operator=(TokenShard&&) noexcept;
    ~TokenShard();

    int64_t size() const;  // number of tokens
    uint32_t at(int64_t index) const;
    // Copies tokens [offset, offset + count) widened to int64 into out (for LibTorch int64 ids).
    void copy_to(int64_t offset, int64_t count, int64_t* out) const;
    const ShardMeta& meta() const;
    const std::filesystem::path& path() const;

private:
    TokenShard() = default;
    std::filesystem::path path_;
    ShardMeta meta_;
    const unsigned char* data_ = nullptr;
    size_t bytes_ = 0;
};

}  // namespace lowbit::data
