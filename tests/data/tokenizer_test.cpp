// Tokenizers: byte round trip; SentencePiece training (BPE and unigram) on a small generated
// corpus, lossless round trips, determinism, loading a saved model, and bad model files.
#include "lowbit/data/tokenizer.h"

#include "lowbit/data/data_error.h"
#include "lowbit/data/sha256.h"
#include "lowbit/data/token_shard.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace lowbit::data {
namespace {

using test_util::TempDir;

// Text with what a lossless tokenizer must keep: leading, double and trailing spaces, tabs,
// blank lines and non-ASCII characters (the last two only through byte fallback).
const std::string kTricky =
    "  Leading spaces,  double  spaces\tand a tab.\n\nNew paragraph: "
    "caf\xc3\xa9, \xe2\x82\xac 5, \xf0\x9f\x98\x80 end. ";

TEST(ByteTokenizer, RoundTrip) {
    const auto tokenizer = make_byte_tokenizer();
    EXPECT_EQ(tokenizer->kind(), "byte");
    EXPECT_EQ(tokenizer->vocab_size(), 256);
    const std::vector<uint32_t> ids = tokenizer->encode("A\xc3\xa9");
    EXPECT_EQ(ids, (std::vector<uint32_t>{65, 0xc3, 0xa9}));
    EXPECT_EQ(tokenizer->decode(tokenizer->encode(kTricky)), kTricky);
    EXPECT_THROW(tokenizer->decode(std::vector<uint32_t>{300}), DataError);
    TempDir dir;
    EXPECT_EQ(tokenizer->save(dir.path()), "");
}

class SentencePieceTest : public ::testing::Test {
protected:
    void SetUp() override {
        corpus_ = dir_ / "corpus.txt";
        test_util::write_file(corpus_, test_util::generated_text(60'000));
    }

    TempDir dir_;
    std::filesystem::path corpus_;
};

TEST_F(SentencePieceTest, TrainBpeEncodeDecode) {
    const auto tokenizer =
        train_sentencepiece({corpus_}, 400, config::SentencePieceType::kBpe, dir_ / "spm");
    EXPECT_EQ(tokenizer->kind(), "sentencepiece");
    EXPECT_EQ(tokenizer->vocab_size(), 400);
    EXPECT_TRUE(std::filesystem::exists(dir_ / "spm.model"));

    const std::string sample = test_util::read_file(corpus_).substr(0, 5000);
    const std::vector<uint32_t> ids = tokenizer->encode(sample);
    // ~110 merges beyond the bytes and letters must still compress well below a token a byte.
    EXPECT_LT(ids.size(), sample.size() * 6 / 10);
    EXPECT_EQ(tokenizer->decode(ids), sample);
    EXPECT_EQ(tokenizer->decode(tokenizer->encode(kTricky)), kTricky);
    for (const uint32_t id : ids) {
        EXPECT_LT(id, 400u);
    }
}

TEST_F(SentencePieceTest, LongTextEncodesInChunksLosslessly) {
    const auto tokenizer =
        train_sentencepiece({corpus_}, 400, config::SentencePieceType::kBpe, dir_ / "spm");
    // Longer than one encoding chunk and without line breaks, like builtin:markov text.
    std::string text = test_util::read_file(corpus_);
    std::replace(text.begin(), text.end(), '\n', ' ');
    EXPECT_EQ(tokenizer->decode(tokenizer->encode(text)), text);
}

TEST_F(SentencePieceTest, TrainUnigramRoundTrip) {
    const auto tokenizer =
        train_sentencepiece({corpus_}, 350, config::SentencePieceType::kUnigram, dir_ / "uni");
    EXPECT_GT(tokenizer->vocab_size(), 260);
    EXPECT_LE(tokenizer->vocab_size(), 350);
    EXPECT_EQ(tokenizer->decode(tokenizer->encode(kTricky)), kTricky);
}

TEST_F(SentencePieceTest, TrainingIsDeterministic) {
    // The .model files differ only in the model_prefix recorded inside them, so compare the
    // vocabularies and an encoding.
    const auto a = train_sentencepiece({corpus_}, 400, config::SentencePieceType::kBpe, dir_ / "a");
    const auto b = train_sentencepiece({corpus_}, 400, config::SentencePieceType::kBpe, dir_ / "b");
    EXPECT_EQ(test_util::read_file(dir_ / "a.vocab"), test_util::read_file(dir_ / "b.vocab"));
    const std::string text = test_util::read_file(corpus_);
    EXPECT_EQ(a->encode(text), b->encode(text));
}

TEST_F(SentencePieceTest, SaveAndLoadExistingModel) {
    const auto trained =
        train_sentencepiece({corpus_}, 400, config::SentencePieceType::kBpe, dir_ / "spm");
    const std::filesystem::path out = dir_ / "saved";
    std::filesystem::create_directories(out);
    EXPECT_EQ(trained->save(out), "tokenizer.model");
    const auto loaded = load_sentencepiece(out / "tokenizer.model");
    EXPECT_EQ(loaded->vocab_size(), trained->vocab_size());
    EXPECT_EQ(loaded->encode(kTricky), trained->encode(kTricky));

    // load_tokenizer_for_shard finds the model beside the shard through the sidecar.
    ShardMeta meta;
    meta.tokenizer = "sentencepiece";
    meta.tokenizer_model = "tokenizer.model";
    meta.vocab_size = trained->vocab_size();
    write_token_shard(out / "train.bin", trained->encode("hello world"), meta);
    const auto from_shard = load_tokenizer_for_shard(out / "train.bin");
    EXPECT_EQ(from_shard->kind(), "sentencepiece");
    EXPECT_EQ(from_shard->encode(kTricky), trained->encode(kTricky));
}

TEST(SentencePiece, BadModelFiles) {
    TempDir dir;
    try {
        load_sentencepiece(dir / "missing.model");
        FAIL() << "no error";
    } catch (const DataError& e) {
        EXPECT_NE(std::string(e.what()).find("missing.model"), std::string::npos);
    }
    test_util::write_file(dir / "garbage.model", "this is not a protobuf \xff\xfe");
    try {
        load_sentencepiece(dir / "garbage.model");
        FAIL() << "no error";
    } catch (const DataError& e) {
        EXPECT_NE(std::string(e.what()).find("garbage.model"), std::string::npos) << e.what();
    }
}

TEST(LoadTokenizerForShard, ByteAndErrors) {
    TempDir dir;
    write_token_shard(dir / "b.bin", std::vector<uint32_t>{1, 2}, ShardMeta{});
    EXPECT_EQ(load_tokenizer_for_shard(dir / "b.bin")->kind(), "byte");
    test_util::write_file(dir / "raw.bin", std::string(4, '\0'));
    EXPECT_THROW(load_tokenizer_for_shard(dir / "raw.bin"), DataError);
    ShardMeta meta;
    meta.tokenizer = "sentencepiece";
    meta.tokenizer_model = "absent.model";
    write_token_shard(dir / "s.bin", std::vector<uint32_t>{1, 2}, meta);
    EXPECT_THROW(load_tokenizer_for_shard(dir / "s.bin"), DataError);
}

}  // namespace
}  // namespace lowbit::data
