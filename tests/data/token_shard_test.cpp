// Token shards: round trips at both widths, sidecar contents, and the errors for truncated,
// empty, sidecar-less, inconsistent and corrupted files.
#include "lowbit/data/token_shard.h"

#include "lowbit/data/data_error.h"
#include "lowbit/data/sha256.h"

#include <gtest/gtest.h>

#include <functional>

#include "test_util.h"
#include <nlohmann/json.hpp>

namespace lowbit::data {
namespace {

using test_util::TempDir;

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const DataError& e) {
        return e.what();
    }
    return "(no DataError)";
}

TEST(TokenShard, RoundTripUint16) {
    TempDir dir;
    const std::vector<uint32_t> tokens = {0, 1, 255, 256, 65535, 42};
    ShardMeta meta;
    meta.vocab_size = 65536;
    meta.sources = {"a.txt"};
    const ShardMeta written = write_token_shard(dir / "t.bin", tokens, meta);
    EXPECT_EQ(written.token_bytes, 2);
    EXPECT_EQ(written.tokens, 6);
    EXPECT_EQ(std::filesystem::file_size(dir / "t.bin"), 12u);
    EXPECT_EQ(written.sha256, sha256_file(dir / "t.bin"));
    // Little-endian on disk regardless of the host.
    const std::string raw = test_util::read_file(dir / "t.bin");
    EXPECT_EQ(static_cast<unsigned char>(raw[6]), 0x00);
    EXPECT_EQ(static_cast<unsigned char>(raw[7]), 0x01);

    const TokenShard shard = TokenShard::open(dir / "t.bin", std::nullopt, true);
    ASSERT_EQ(shard.size(), 6);
    for (size_t i = 0; i < tokens.size(); ++i) {
        EXPECT_EQ(shard.at(static_cast<int64_t>(i)), tokens[i]);
    }
    std::vector<int64_t> wide(3);
    shard.copy_to(2, 3, wide.data());
    EXPECT_EQ(wide, (std::vector<int64_t>{255, 256, 65535}));
    EXPECT_EQ(shard.meta().sources, std::vector<std::string>{"a.txt"});
    EXPECT_FALSE(shard.meta().entropy_rate_nats_per_token.has_value());
    EXPECT_THROW(shard.at(6), std::out_of_range);
    EXPECT_THROW(shard.copy_to(4, 3, wide.data()), std::out_of_range);
}

TEST(TokenShard, RoundTripUint32AndSidecarFields) {
    TempDir dir;
    const std::vector<uint32_t> tokens = {70000, 0, 65536, 99999};
    ShardMeta meta;
    meta.tokenizer = "sentencepiece";
    meta.tokenizer_model = "tokenizer.model";
    meta.vocab_size = 100000;
    meta.entropy_rate_nats_per_token = 1.25;
    write_token_shard(dir / "t.bin", tokens, meta);
    EXPECT_EQ(std::filesystem::file_size(dir / "t.bin"), 16u);

    const auto doc = nlohmann::json::parse(test_util::read_file(dir / "t.bin.json"));
    EXPECT_EQ(doc["token_bytes"], 4);
    EXPECT_EQ(doc["tokens"], 4);
    EXPECT_EQ(doc["tokenizer"], "sentencepiece");
    EXPECT_EQ(doc["tokenizer_model"], "tokenizer.model");
    EXPECT_EQ(doc["vocab_size"], 100000);
    EXPECT_DOUBLE_EQ(doc["entropy_rate_nats_per_token"].get<double>(), 1.25);

    TokenShard shard = TokenShard::open(dir / "t.bin");
    EXPECT_EQ(shard.at(0), 70000u);
    EXPECT_EQ(shard.at(3), 99999u);
    EXPECT_DOUBLE_EQ(*shard.meta().entropy_rate_nats_per_token, 1.25);
    TokenShard moved = std::move(shard);
    EXPECT_EQ(moved.at(2), 65536u);
}

TEST(TokenShard, RejectsTokenOutsideVocabOnWrite) {
    TempDir dir;
    ShardMeta meta;
    meta.vocab_size = 256;
    const std::vector<uint32_t> tokens = {1, 256};
    EXPECT_THROW(write_token_shard(dir / "t.bin", tokens, meta), DataError);
}

TEST(TokenShard, TruncatedFile) {
    TempDir dir;
    test_util::write_file(dir / "t.bin", std::string(1001, 'x'));
    const std::string path = (dir / "t.bin").string();
    EXPECT_EQ(error_of([&] { TokenShard::open(path, 2); }),
              path +
                  ": 1001 bytes is not a multiple of the 2-byte token size; the file is "
                  "truncated or not a uint16 token file");
}

TEST(TokenShard, MissingAndEmptyFiles) {
    TempDir dir;
    EXPECT_EQ(error_of([&] { TokenShard::open(dir / "nope.bin", 2); }),
              "no such file or directory: " + (dir / "nope.bin").string());
    test_util::write_file(dir / "empty.bin", "");
    EXPECT_NE(error_of([&] { TokenShard::open(dir / "empty.bin", 2); }).find("empty token file"),
              std::string::npos);
}

TEST(TokenShard, MissingSidecarNeedsWidth) {
    TempDir dir;
    test_util::write_file(dir / "nano.bin", std::string("\x05\x00\x07\x01", 4));
    const std::string message = error_of([&] { TokenShard::open(dir / "nano.bin"); });
    EXPECT_NE(message.find("no sidecar"), std::string::npos) << message;
    EXPECT_NE(message.find("nano.bin"), std::string::npos) << message;

    const TokenShard shard = TokenShard::open(dir / "nano.bin", 2);
    ASSERT_EQ(shard.size(), 2);
    EXPECT_EQ(shard.at(0), 5u);
    EXPECT_EQ(shard.at(1), 263u);
    EXPECT_EQ(shard.meta().tokenizer, "unknown");
    EXPECT_EQ(shard.meta().vocab_size, 264);  // largest token + 1
}

TEST(TokenShard, SidecarDisagreesWithFileSize) {
    TempDir dir;
    ShardMeta meta;
    write_token_shard(dir / "t.bin", std::vector<uint32_t>{1, 2, 3}, meta);
    // Append one token behind the sidecar's back.
    {
        std::ofstream out(dir / "t.bin", std::ios::binary | std::ios::app);
        out.write("\x01\x00", 2);
    }
    const std::string message = error_of([&] { TokenShard::open(dir / "t.bin"); });
    EXPECT_NE(message.find("says 3 tokens but the file holds 4"), std::string::npos) << message;
}

TEST(TokenShard, MalformedSidecar) {
    TempDir dir;
    write_token_shard(dir / "t.bin", std::vector<uint32_t>{1, 2}, ShardMeta{});
    test_util::write_file(dir / "t.bin.json", "{ \"tokenizer\": \"byte\", ");
    std::string message = error_of([&] { TokenShard::open(dir / "t.bin"); });
    EXPECT_NE(message.find("t.bin.json: malformed shard sidecar"), std::string::npos) << message;

    test_util::write_file(dir / "t.bin.json",
                          R"({"tokenizer": "byte", "vocab_size": 256, "tokens": 2})");
    message = error_of([&] { TokenShard::open(dir / "t.bin"); });
    EXPECT_NE(message.find("'token_bytes' is missing"), std::string::npos) << message;

    test_util::write_file(
        dir / "t.bin.json",
        R"({"tokenizer": "byte", "vocab_size": 256, "token_bytes": 3, "tokens": 2})");
    message = error_of([&] { TokenShard::open(dir / "t.bin"); });
    EXPECT_NE(message.find("token_bytes must be 2 or 4"), std::string::npos) << message;
}

TEST(TokenShard, TokenOutsideSidecarVocab) {
    TempDir dir;
    ShardMeta meta;
    meta.vocab_size = 1000;
    write_token_shard(dir / "t.bin", std::vector<uint32_t>{1, 999, 3}, meta);
    auto doc = nlohmann::json::parse(test_util::read_file(dir / "t.bin.json"));
    doc["vocab_size"] = 500;
    test_util::write_file(dir / "t.bin.json", doc.dump());
    const std::string message = error_of([&] { TokenShard::open(dir / "t.bin"); });
    EXPECT_NE(message.find("token 999 at index 1 (byte offset 2)"), std::string::npos) << message;
}

TEST(TokenShard, ChecksumMismatch) {
    TempDir dir;
    write_token_shard(dir / "t.bin", std::vector<uint32_t>{10, 20, 30}, ShardMeta{});
    // Same length, different bytes: only the checksum can tell.
    test_util::write_file(dir / "t.bin", std::string("\x0a\x00\x15\x00\x1e\x00", 6));
    EXPECT_NO_THROW(TokenShard::open(dir / "t.bin"));
    const std::string message =
        error_of([&] { TokenShard::open(dir / "t.bin", std::nullopt, true); });
    EXPECT_NE(message.find("checksum mismatch"), std::string::npos) << message;
    EXPECT_NE(message.find("t.bin"), std::string::npos) << message;
}

TEST(TokenShard, AtomicWriteLeavesNoTemporaryFiles) {
    TempDir dir;
    write_token_shard(dir / "t.bin", std::vector<uint32_t>{1, 2}, ShardMeta{});
    write_token_shard(dir / "t.bin", std::vector<uint32_t>{3, 4, 5}, ShardMeta{});
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        ++files;
        EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos);
    }
    EXPECT_EQ(files, 2);
    EXPECT_EQ(TokenShard::open(dir / "t.bin").size(), 3);
}

}  // namespace
}  // namespace lowbit::data
