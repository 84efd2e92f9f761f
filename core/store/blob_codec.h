// Histogram counts <-> the little-endian int64 BLOB stored in histograms.counts (private header).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lowbit::store {

// Byte order is fixed (little-endian) so a workspace copied between machines reads the same.
std::vector<unsigned char> encode_counts(const std::vector<int64_t>& counts);
// Trailing bytes that do not make a whole int64 are ignored.
std::vector<int64_t> decode_counts(const std::vector<unsigned char>& bytes);

}  // namespace lowbit::store
