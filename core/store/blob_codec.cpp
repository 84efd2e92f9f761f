// Little-endian int64 packing of histogram counts, written byte by byte so it is independent of
// the host's byte order.
#include "blob_codec.h"

namespace lowbit::store {

std::vector<unsigned char> encode_counts(const std::vector<int64_t>& counts) {
    std::vector<unsigned char> bytes;
    bytes.reserve(counts.size() * 8);
    for (const int64_t count : counts) {
        const auto value = static_cast<uint64_t>(count);
        for (int shift = 0; shift < 64; shift += 8) {
            bytes.push_back(static_cast<unsigned char>((value >> shift) & 0xffu));
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
