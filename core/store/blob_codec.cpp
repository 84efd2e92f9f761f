// Little-endian int64 packing of histogram counts, written byte by byte so it is independent of
// the host's byte order.
#include "blob_codec.h"

namespace lowbit::store {

std::vector<unsigned char> encode_counts(const std::vector<int64_t>& counts) {
    std::vector<unsigned char> bytes(counts.size() * 8);
    unsigned char* out = bytes.data();
    for (const int64_t count : counts) {
        const auto value = static_cast<uint64_t>(count);
        for (int b = 0; b < 8; ++b) {
            *out++ = static_cast<unsigned char>(value >> (8 * b));
        }
    }
    return bytes;
}

std::vector<int64_t> decode_counts(const std::vector<unsigned char>& bytes) {
    std::vector<int64_t> counts(bytes.size() / 8);
    for (std::size_t i = 0; i < counts.size(); ++i) {
        uint64_t value = 0;
        for (int b = 7; b >= 0; --b) {
            value = (value << 8) | bytes[i * 8 + static_cast<std::size_t>(b)];
        }
        counts[i] = static_cast<int64_t>(value);
    }
    return counts;
}

}  // namespace lowbit::store
