// SHA-256 against the FIPS 180-4 / NIST example vectors, plus streaming in odd-sized pieces and
// hashing a file.
#include "lowbit/data/sha256.h"

#include "lowbit/data/data_error.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace lowbit::data {
namespace {

TEST(Sha256, FipsVectors) {
    EXPECT_EQ(sha256_hex(std::string_view("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex(std::string_view("")),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(
        sha256_hex(std::string_view("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha256_hex(std::string(1'000'000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, StreamingMatchesOneShot) {
    std::string message;
    for (int i = 0; i < 1000; ++i) {
        message.push_back(static_cast<char>(i * 31 + 7));
    }
    const std::string expected = sha256_hex(message);
    // Piece sizes that straddle block boundaries in every way.
    for (const size_t piece : {1u, 3u, 55u, 56u, 63u, 64u, 65u, 127u}) {
        Sha256 hasher;
        for (size_t pos = 0; pos < message.size(); pos += piece) {
            hasher.update(std::string_view(message).substr(pos, piece));
        }
        EXPECT_EQ(hasher.hex_digest(), expected) << "piece " << piece;
    }
}

TEST(Sha256, File) {
    test_util::TempDir dir;
    test_util::write_file(dir / "abc.txt", "abc");
    EXPECT_EQ(sha256_file(dir / "abc.txt"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_THROW(sha256_file(dir / "missing"), DataError);
}

}  // namespace
}  // namespace lowbit::data
