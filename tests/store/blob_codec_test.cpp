// The histogram counts blob: little-endian int64 per count, byte for byte as a workspace written
// on any host holds it (hand-worked bytes), and read back with trailing partial bytes ignored.
#include "blob_codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

namespace lowbit::store {
namespace {

const std::vector<int64_t> kCounts = {1, 258, -1, std::numeric_limits<int64_t>::max()};
const std::vector<unsigned char> kBytes = {
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 1
    0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // 258 = 0x0102
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // -1
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,  // 2^63 - 1
};

TEST(BlobCodec, CountsAreLittleEndianInt64s) {
    EXPECT_EQ(encode_counts(kCounts), kBytes);
    EXPECT_TRUE(encode_counts({}).empty());
}

TEST(BlobCodec, DecodingReadsThemBackAndIgnoresAPartialTail) {
    EXPECT_EQ(decode_counts(kBytes), kCounts);
    std::vector<unsigned char> with_tail = kBytes;
    with_tail.insert(with_tail.end(), {0x05, 0x06, 0x07});
    EXPECT_EQ(decode_counts(with_tail), kCounts);
    EXPECT_TRUE(decode_counts({0x01, 0x02}).empty());
}

}  // namespace
}  // namespace lowbit::store
