// Writing token shards (little-endian, width chosen from the vocabulary) and opening them as
// read-only memory maps with the checks that turn a bad file into a DataError naming it.
#include "lowbit/data/token_shard.h"

#include "lowbit/data/data_error.h"
#include "lowbit/data/sha256.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "atomic_file.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lowbit::data {

namespace {

uint32_t load_token(const unsigned char* p, int token_bytes) {
    // Assembled byte by byte so the result does not depend on the host's byte order.
    if (token_bytes == 2) {
        return uint32_t{p[0]} | (uint32_t{p[1]} << 8);
    }
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

std::string width_name(int token_bytes) {
    return token_bytes == 2 ? "uint16" : "uint32";
}

}  // namespace

ShardMeta write_token_shard(const std::filesystem::path& path,
                            std::span<const uint32_t> tokens,
                            ShardMeta meta) {
    if (meta.vocab_size < 1) {
        throw DataError(path.string() + ": vocab_size must be positive, not " +
                        std::to_string(meta.vocab_size));
    }
    meta.token_bytes = meta.vocab_size <= 65536 ? 2 : 4;
    meta.tokens = static_cast<int64_t>(tokens.size());
    std::vector<unsigned char> bytes(tokens.size() * static_cast<size_t>(meta.token_bytes));
    for (size_t i = 0; i < tokens.size(); ++i) {
        const uint32_t token = tokens[i];
        if (token >= static_cast<uint32_t>(meta.vocab_size)) {
            throw DataError(path.string() + ": token " + std::to_string(token) + " at index " +
                            std::to_string(i) + " is outside the vocabulary of " +
                            std::to_string(meta.vocab_size));
        }
        unsigned char* out = bytes.data() + i * static_cast<size_t>(meta.token_bytes);
        for (int b = 0; b < meta.token_bytes; ++b) {
            out[b] = static_cast<unsigned char>(token >> (8 * b));
        }
    }
    meta.sha256 = sha256_hex(bytes);
    // The shard goes first: a sidecar never describes a file that is not there yet.
    write_file_atomically(path, bytes);
    write_shard_sidecar(path, meta);
    return meta;
}

TokenShard TokenShard::open(const std::filesystem::path& path,
                            std::optional<int> token_bytes_if_no_sidecar,
                            bool verify_checksum) {
    const std::string name = path.string();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        throw DataError("no such file or directory: " + name);
    }
    if (!std::filesystem::is_regular_file(path, ec)) {
        throw DataError(name + ": not a regular file");
    }

    std::optional<ShardMeta> sidecar = read_shard_sidecar(path);
    TokenShard shard;
    shard.path_ = path;
    if (sidecar) {
        shard.meta_ = *sidecar;
    } else {
        if (!token_bytes_if_no_sidecar) {
            throw DataError(name + ": no sidecar " + sidecar_path(path).string() +
                            "; the token width must be given (2 for nanoGPT uint16 files)");
        }
        if (*token_bytes_if_no_sidecar != 2 && *token_bytes_if_no_sidecar != 4) {
            throw DataError(name + ": token width must be 2 or 4 bytes, not " +
                            std::to_string(*token_bytes_if_no_sidecar));
        }
        shard.meta_ = ShardMeta{};
        shard.meta_.tokenizer = "unknown";
        shard.meta_.token_bytes = *token_bytes_if_no_sidecar;
        shard.meta_.sources = {name};
    }
    const int width = shard.meta_.token_bytes;

    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw DataError(name + ": cannot open: " + std::strerror(errno));
    }

    struct stat st {};

    if (::fstat(fd, &st) != 0) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        throw DataError(name + ": cannot stat: " + why);
    }
    const auto bytes = static_cast<size_t>(st.st_size);
    if (bytes == 0) {
        ::close(fd);
        throw DataError(name + ": empty token file (0 bytes)");
    }
    if (bytes % static_cast<size_t>(width) != 0) {
        ::close(fd);
        throw DataError(name + ": " + std::to_string(bytes) + " bytes is not a multiple of the " +
                        std::to_string(width) +
                        "-byte token size; the file is truncated or not a " + width_name(width) +
                        " token file");
    }
    const auto count = static_cast<int64_t>(bytes / static_cast<size_t>(width));
    if (sidecar && sidecar->tokens != count) {
        ::close(fd);
        throw DataError(name + ": sidecar " + sidecar_path(path).string() + " says " +
                        std::to_string(sidecar->tokens) + " tokens but the file holds " +
                        std::to_string(count) + " (" + std::to_string(bytes) + " bytes of " +
                        width_name(width) + ")");
    }
    void* map = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
    const int map_errno = errno;
    ::close(fd);  // the mapping keeps the file alive
    if (map == MAP_FAILED) {
        throw DataError(name + ": mmap failed: " + std::strerror(map_errno));
    }
    shard.data_ = static_cast<const unsigned char*>(map);
    shard.bytes_ = bytes;
    shard.meta_.tokens = count;

    // From here on the destructor of `shard` unmaps on any error.
    uint32_t max_token = 0;
    int64_t first_bad = -1;
    for (int64_t i = 0; i < count; ++i) {
        const uint32_t token = load_token(shard.data_ + i * width, width);
        if (token > max_token) {
            max_token = token;
        }
        if (sidecar && first_bad < 0 && token >= static_cast<uint32_t>(sidecar->vocab_size)) {
            first_bad = i;
        }
    }
    if (first_bad >= 0) {
        throw DataError(name + ": token " + std::to_string(shard.at(first_bad)) + " at index " +
                        std::to_string(first_bad) + " (byte offset " +
                        std::to_string(first_bad * width) + ") is outside the vocabulary of " +
                        std::to_string(sidecar->vocab_size) + " named by the sidecar");
    }
    if (!sidecar) {
        shard.meta_.vocab_size =
            static_cast<int>(std::min<uint64_t>(max_token + uint64_t{1}, uint64_t{0x7fffffff}));
    }
    if (verify_checksum && !shard.meta_.sha256.empty()) {
        const std::string actual = sha256_hex(std::span(shard.data_, shard.bytes_));
        if (actual != shard.meta_.sha256) {
            throw DataError(name + ": checksum mismatch: the sidecar says sha256 " +
                            shard.meta_.sha256 + " but the file has " + actual);
        }
    }
    if (!sidecar) {
        shard.meta_.sha256.clear();
    }
    return shard;
}

TokenShard::TokenShard(TokenShard&& other) noexcept
    : path_(std::move(other.path_)),
      meta_(std::move(other.meta_)),
      data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)) {}

TokenShard& TokenShard::operator=(TokenShard&& other) noexcept {
    if (this != &other) {
        if (data_ != nullptr) {
            ::munmap(const_cast<unsigned char*>(data_), bytes_);
        }
        path_ = std::move(other.path_);
        meta_ = std::move(other.meta_);
        data_ = std::exchange(other.data_, nullptr);
        bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
}

TokenShard::~TokenShard() {
    if (data_ != nullptr) {
        ::munmap(const_cast<unsigned char*>(data_), bytes_);
    }
}

int64_t TokenShard::size() const {
    return meta_.tokens;
}

uint32_t TokenShard::at(int64_t index) const {
    if (index < 0 || index >= meta_.tokens) {
        throw std::out_of_range(path_.string() + ": token index " + std::to_string(index) +
                                " is outside [0, " + std::to_string(meta_.tokens) + ")");
    }
    return load_token(data_ + index * meta_.token_bytes, meta_.token_bytes);
}

void TokenShard::copy_to(int64_t offset, int64_t count, int64_t* out) const {
    if (offset < 0 || count < 0 || offset > meta_.tokens - count) {
        throw std::out_of_range(path_.string() + ": token range [" + std::to_string(offset) + ", " +
                                std::to_string(offset + count) + ") is outside [0, " +
                                std::to_string(meta_.tokens) + ")");
    }
    const int width = meta_.token_bytes;
    const unsigned char* p = data_ + offset * width;
    for (int64_t i = 0; i < count; ++i) {
        out[i] = static_cast<int64_t>(load_token(p + i * width, width));
    }
}

const ShardMeta& TokenShard::meta() const {
    return meta_;
}

const std::filesystem::path& TokenShard::path() const {
    return path_;
}

}  // namespace lowbit::data
