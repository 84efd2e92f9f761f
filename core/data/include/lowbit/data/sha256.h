// SHA-256 (FIPS 180-4), used for token-shard checksums, corpus cache keys and checkpoint
// records. Written here because no hashing library is among the project's dependencies and one
// small, tested implementation is cheaper than adding one. Torch-free; any layer may reuse it.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace lowbit::data {

// Streaming hasher: update() any number of times, then digest() or hex_digest() once.
class Sha256 {
public:
    Sha256();
    void update(std::span<const unsigned char> bytes);
    void update(std::string_view text);
    // Finishes the hash; the object must not be updated afterwards.
    std::array<unsigned char, 32> digest();
    std::string hex_digest();

private:
    void compress(const unsigned char* block);
    std::array<uint32_t, 8> state_;
    std::array<unsigned char, 64> buffer_{};
    size_t buffered_ = 0;
    uint64_t total_bytes_ = 0;
    bool finished_ = false;
};

// Lowercase hex digest of bytes.
std::string sha256_hex(std::span<const unsigned char> bytes);
std::string sha256_hex(std::string_view text);
// Lowercase hex digest of a file's contents, streamed; throws DataError when it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace lowbit::data
