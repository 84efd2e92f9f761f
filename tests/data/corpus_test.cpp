// Corpus preparation: formats, folder order, JSONL errors, empty and missing inputs, the split,
// token-file inputs, builtin:markov sidecars, and SentencePiece corpora.
#include "lowbit/data/corpus.h"

#include "lowbit/data/data_error.h"
#include "lowbit/data/markov_source.h"
#include "lowbit/data/tokenizer.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace lowbit::data {
namespace {

using test_util::TempDir;
using test_util::write_file;

config::DataSpec byte_spec(std::vector<std::string> train) {
    config::DataSpec spec;
    spec.train = std::move(train);
    spec.tokenizer = config::TokenizerKind::kByte;
    spec.val_fraction = 0.1;
    return spec;
}

// The text of train followed by val, decoded with the prepared tokenizer.
std::string decoded_stream(const PreparedData& prepared) {
    const auto tokenizer = load_tokenizer_for_shard(prepared.train_path);
    std::string out;
    for (const auto& path : {prepared.train_path, prepared.val_path}) {
        const TokenShard shard = TokenShard::open(path);
        std::vector<uint32_t> ids;
        for (int64_t i = 0; i < shard.size(); ++i) {
            ids.push_back(shard.at(i));
        }
        out += tokenizer->decode(ids);
    }
    return out;
}

std::string error_of(const config::DataSpec& spec, const std::filesystem::path& out) {
    try {
        prepare_corpus(spec, out);
    } catch (const DataError& e) {
        return e.what();
    }
    return "(no DataError)";
}

TEST(Corpus, TextFileSplitSizes) {
    TempDir dir;
    const std::string text = test_util::generated_text(1000);
    write_file(dir / "in.txt", text);
    const PreparedData prepared =
        prepare_corpus(byte_spec({(dir / "in.txt").string()}), dir / "out");
    EXPECT_EQ(prepared.train_meta.tokens, 900);
    EXPECT_EQ(prepared.val_meta.tokens, 100);
    EXPECT_EQ(prepared.train_meta.vocab_size, 256);
    EXPECT_EQ(prepared.train_meta.tokenizer, "byte");
    EXPECT_EQ(prepared.train_meta.tokenizer_model, "");
    EXPECT_EQ(prepared.train_path, dir / "out" / "train.bin");
    EXPECT_EQ(decoded_stream(prepared), text);
    // The validation part is the end of the stream.
    EXPECT_EQ(TokenShard::open(prepared.val_path).at(0), static_cast<unsigned char>(text[900]));
    EXPECT_FALSE(prepared.train_meta.entropy_rate_nats_per_token.has_value());
    ASSERT_EQ(prepared.train_meta.sources.size(), 1u);
    EXPECT_NE(prepared.train_meta.sources[0].find("in.txt"), std::string::npos);
}

TEST(Corpus, FolderOrderAndFormats) {
    TempDir dir;
    write_file(dir / "data" / "b.txt", "B");
    write_file(dir / "data" / "a" / "z.txt", "Z");
    write_file(dir / "data" / "c.jsonl", "{\"text\": \"C1\"}\n\n{\"text\": \"C2\", \"id\": 2}\n");
    write_file(dir / "data" / "notes.md", "ignored");
    config::DataSpec spec = byte_spec({(dir / "data").string(), (dir / "last.txt").string()});
    write_file(dir / "last.txt", "L");
    spec.val_fraction = 0.2;
    const PreparedData prepared = prepare_corpus(spec, dir / "out");
    EXPECT_EQ(decoded_stream(prepared), "Z\n\nB\n\nC1\n\nC2\n\nL");
    ASSERT_EQ(prepared.train_meta.sources.size(), 4u);
    EXPECT_NE(prepared.train_meta.sources[0].find("z.txt"), std::string::npos);
    EXPECT_NE(prepared.train_meta.sources[2].find("c.jsonl"), std::string::npos);
}

TEST(Corpus, JsonlErrorsNameTheLine) {
    TempDir dir;
    write_file(dir / "d.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"ok\"}\n{\"body\": \"x\"}\n");
    const std::string where = (dir / "d.jsonl").string();
    std::string message = error_of(byte_spec({where}), dir / "out");
    EXPECT_NE(message.find(where + ":3: the object has no \"text\" field"), std::string::npos)
        << message;

    write_file(dir / "d.jsonl", "{\"text\": \"ok\"}\n{not json\n");
    message = error_of(byte_spec({where}), dir / "out");
    EXPECT_NE(message.find(where + ":2: not valid JSON"), std::string::npos) << message;

    write_file(dir / "d.jsonl", "{\"text\": 5}\n");
    message = error_of(byte_spec({where}), dir / "out");
    EXPECT_NE(message.find(where + ":1: the \"text\" field must be a string"), std::string::npos)
        << message;
}

TEST(Corpus, EmptyAndMissingInputs) {
    TempDir dir;
    write_file(dir / "empty.txt", "");
    std::string message = error_of(byte_spec({(dir / "empty.txt").string()}), dir / "out");
    EXPECT_NE(message.find("empty corpus"), std::string::npos) << message;
    EXPECT_NE(message.find("empty.txt"), std::string::npos) << message;

    std::filesystem::create_directories(dir / "nothing");
    message = error_of(byte_spec({(dir / "nothing").string()}), dir / "out");
    EXPECT_NE(message.find("empty corpus"), std::string::npos) << message;
    EXPECT_NE(message.find("nothing"), std::string::npos) << message;

    const std::string missing = (dir / "missing.txt").string();
    EXPECT_EQ(error_of(byte_spec({missing}), dir / "out"),
              "data.train: no such file or directory: " + missing);
}

TEST(Corpus, InvalidUtf8NamesTheOffset) {
    TempDir dir;
    write_file(dir / "latin1.txt", "caf\xe9 au lait");
    const std::string message = error_of(byte_spec({(dir / "latin1.txt").string()}), dir / "out");
    EXPECT_NE(message.find("invalid UTF-8 at byte offset 3"), std::string::npos) << message;
}

TEST(Corpus, SeparateValidationSource) {
    TempDir dir;
    write_file(dir / "train.txt", "training text");
    write_file(dir / "val.txt", "held out");
    config::DataSpec spec = byte_spec({(dir / "train.txt").string()});
    spec.val = {(dir / "val.txt").string()};
    const PreparedData prepared = prepare_corpus(spec, dir / "out");
    EXPECT_EQ(prepared.train_meta.tokens, 13);
    EXPECT_EQ(prepared.val_meta.tokens, 8);
    EXPECT_EQ(decoded_stream(prepared), "training textheld out");
}

TEST(Corpus, TokenFileInputs) {
    TempDir dir;
    write_file(dir / "a.txt", "hello tokens");
    const PreparedData first = prepare_corpus(byte_spec({(dir / "a.txt").string()}), dir / "one");
    // A prepared shard (with its byte sidecar) is a valid input of another preparation.
    const PreparedData second = prepare_corpus(byte_spec({first.train_path.string()}), dir / "two");
    EXPECT_EQ(second.train_meta.tokens + second.val_meta.tokens, first.train_meta.tokens);

    // A nanoGPT-style file without a sidecar is read as uint16.
    write_file(dir / "raw.bin", std::string("h\0i\0!\0", 6));
    const PreparedData raw = prepare_corpus(byte_spec({(dir / "raw.bin").string()}), dir / "three");
    EXPECT_EQ(decoded_stream(raw), "hi!");

    // Tokens from another tokenizer are refused.
    ShardMeta meta;
    meta.tokenizer = "sentencepiece";
    meta.tokenizer_model = "tokenizer.model";
    meta.vocab_size = 1000;
    write_token_shard(dir / "sp.bin", std::vector<uint32_t>{1, 2, 3, 4}, meta);
    const std::string message = error_of(byte_spec({(dir / "sp.bin").string()}), dir / "four");
    EXPECT_NE(message.find("made with the sentencepiece tokenizer"), std::string::npos) << message;
}

TEST(Corpus, BuiltinMarkovRecordsEntropyRate) {
    TempDir dir;
    config::DataSpec spec = byte_spec({"builtin:markov"});
    spec.markov.tokens = 20'000;
    const PreparedData prepared = prepare_corpus(spec, dir / "out");
    EXPECT_EQ(prepared.train_meta.tokens + prepared.val_meta.tokens, 20'000);
    const double expected = make_markov_source(spec.markov).entropy_rate_nats_per_char;
    ASSERT_TRUE(prepared.train_meta.entropy_rate_nats_per_token.has_value());
    ASSERT_TRUE(prepared.val_meta.entropy_rate_nats_per_token.has_value());
    EXPECT_DOUBLE_EQ(*prepared.train_meta.entropy_rate_nats_per_token, expected);
    EXPECT_DOUBLE_EQ(*TokenShard::open(prepared.val_path).meta().entropy_rate_nats_per_token,
                     expected);
    EXPECT_EQ(prepared.train_meta.sources, std::vector<std::string>{"builtin:markov"});
}

TEST(Corpus, SentencePieceTrainedAndReused) {
    TempDir dir;
    const std::string text = test_util::generated_text(40'000);
    write_file(dir / "in.txt", text);
    config::DataSpec spec = byte_spec({(dir / "in.txt").string()});
    spec.tokenizer = config::TokenizerKind::kSentencePiece;
    spec.vocab_size = 400;
    const PreparedData prepared = prepare_corpus(spec, dir / "out");
    EXPECT_TRUE(std::filesystem::exists(dir / "out" / "tokenizer.model"));
    EXPECT_EQ(prepared.train_meta.tokenizer, "sentencepiece");
    EXPECT_EQ(prepared.train_meta.tokenizer_model, "tokenizer.model");
    EXPECT_EQ(prepared.val_meta.vocab_size, 400);
    EXPECT_LT(prepared.train_meta.tokens + prepared.val_meta.tokens,
              static_cast<int64_t>(text.size()) * 6 / 10);
    EXPECT_EQ(decoded_stream(prepared), text);
    // Temporary training files are gone.
    for (const auto& entry : std::filesystem::directory_iterator(dir / "out")) {
        EXPECT_NE(entry.path().filename().string()[0], '.') << entry.path();
    }

    // An existing model is loaded instead of training a new one.
    config::DataSpec reuse = spec;
    reuse.tokenizer_model = (dir / "out" / "tokenizer.model").string();
    reuse.vocab_size = 999;  // ignored when a model is given
    const PreparedData again = prepare_corpus(reuse, dir / "again");
    EXPECT_EQ(again.train_meta.vocab_size, 400);
    EXPECT_EQ(again.train_meta.sha256, prepared.train_meta.sha256);

    // builtin:markov with SentencePiece: the per-token rate is unknown.
    config::DataSpec markov = reuse;
    markov.train = {"builtin:markov"};
    markov.markov.tokens = 5000;
    EXPECT_FALSE(prepare_corpus(markov, dir / "markov").train_meta.entropy_rate_nats_per_token);
}

TEST(Corpus, SharedTinyShakespeareOrGeneratedText) {
    // Uses /work/shared/data when present; a fresh clone falls back to generated text.
    TempDir dir;
    const std::filesystem::path shared =
        std::filesystem::path(LOWBIT_SHARED_DATA_DIR) / "tinyshakespeare.txt";
    std::filesystem::path input = shared;
    if (!std::filesystem::exists(shared)) {
        input = dir / "generated.txt";
        write_file(input, test_util::generated_text(200'000));
    }
    const PreparedData prepared = prepare_corpus(byte_spec({input.string()}), dir / "out");
    const auto total = static_cast<int64_t>(std::filesystem::file_size(input));
    EXPECT_EQ(prepared.train_meta.tokens + prepared.val_meta.tokens, total);
    EXPECT_EQ(prepared.val_meta.tokens, std::llround(0.1 * static_cast<double>(total)));
}

}  // namespace
}  // namespace lowbit::data
