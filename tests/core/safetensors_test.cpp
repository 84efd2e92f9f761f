// Safetensors: round trip of every dtype with metadata, and each kind of corruption reported as
// io::FormatError naming the file and the offending offset or tensor.
#include "lowbit/io/safetensors.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "temp_dir.h"
#include <unistd.h>

namespace lowbit::io {
namespace {

namespace fs = std::filesystem;

class SafetensorsTest : public ::testing::Test {
protected:
    void SetUp() override {
        temp_ = std::make_unique<lowbit::testing::TempDir>(
            std::string("st_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        dir_ = temp_->path();
    }

    void TearDown() override {
        temp_.reset();
    }

    // Writes a file made of an explicit header and `data_bytes` zero bytes.
    fs::path raw_file(const std::string& header, size_t data_bytes, uint64_t header_len = 0) {
        auto path = dir_ / "raw.safetensors";
        std::ofstream out(path, std::ios::binary);
        uint64_t n = header_len ? header_len : header.size();
        out.write(reinterpret_cast<const char*>(&n), 8);
        out << header << std::string(data_bytes, '\0');
        return path;
    }

    std::string error_of(const fs::path& path) {
        try {
            load_safetensors(path);
        } catch (const FormatError& e) {
            EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
            return e.what();
        }
        ADD_FAILURE() << "no FormatError for " << path;
        return "";
    }

    std::unique_ptr<lowbit::testing::TempDir> temp_;
    fs::path dir_;
};

TEST_F(SafetensorsTest, RoundTripsEveryDtypeAndMetadata) {
    NamedTensors tensors = {
        {"f32", torch::randn({3, 4})},
        {"f64", torch::randn({2}, torch::kFloat64)},
        {"bf16", torch::randn({5, 1}).to(torch::kBFloat16)},
        {"f16", torch::randn({2, 2, 2}).to(torch::kFloat16)},
        {"i64", torch::arange(-5, 5, torch::kInt64)},
        {"i32", torch::arange(7, torch::kInt32)},
        {"i16", torch::arange(-3, 3, torch::kInt16)},
        {"i8", torch::arange(-8, 8, torch::kInt8)},
        {"u8", torch::arange(250, 256, torch::kInt64).to(torch::kUInt8)},
        {"u16", torch::arange(65530, 65536, torch::kInt64).to(torch::kUInt16)},
        {"bool", torch::tensor({true, false, true})},
        {"scalar", torch::tensor(3.5f)},
        {"empty", torch::zeros({0, 4})},
        {"strided", torch::randn({4, 6}).t()},
    };
    auto path = dir_ / "all.safetensors";
    save_safetensors(path, tensors, {{"format", "pt"}, {"step", "12"}});
    auto file = load_safetensors(path);
    ASSERT_EQ(file.tensors.size(), tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        const auto& [name, expected] = tensors[i];
        EXPECT_EQ(file.tensors[i].first, name);  // file order is insertion order
        const auto& got = file.at(name);
        EXPECT_EQ(got.scalar_type(), expected.scalar_type()) << name;
        EXPECT_EQ(got.sizes(), expected.sizes()) << name;
        if (expected.scalar_type() == torch::kUInt16) {
            EXPECT_TRUE(torch::equal(got.to(torch::kInt64), expected.to(torch::kInt64))) << name;
        } else {
            EXPECT_TRUE(torch::equal(got, expected)) << name;
        }
    }
    EXPECT_EQ(file.metadata,
              (std::map<std::string, std::string>{{"format", "pt"}, {"step", "12"}}));
    uint64_t header_len = 0;  // header padded so the data section starts 8-byte aligned
    std::ifstream(path, std::ios::binary).read(reinterpret_cast<char*>(&header_len), 8);
    EXPECT_EQ((8 + header_len) % 8, 0u);
    EXPECT_EQ(file.find("missing"), nullptr);
    EXPECT_THROW(file.at("missing"), FormatError);
    EXPECT_FALSE(fs::exists(path.string() + ".tmp-" + std::to_string(::getpid())));
}

TEST_F(SafetensorsTest, TruncatedFileNamesTensorAndRange) {
    auto path = dir_ / "t.safetensors";
    save_safetensors(path, {{"a", torch::zeros({10})}, {"x", torch::zeros({100})}});
    fs::resize_file(path, fs::file_size(path) - 10);
    auto msg = error_of(path);
    EXPECT_NE(msg.find("tensor 'x'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("runs past the end of the file"), std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, HeaderLengthTooLarge) {
    auto msg = error_of(raw_file("{}", 0, 1000));
    EXPECT_NE(msg.find("header length 1000"), std::string::npos) << msg;
    EXPECT_NE(msg.find("byte 0"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, TooShortForHeaderLength) {
    auto path = dir_ / "short.safetensors";
    std::ofstream(path, std::ios::binary) << "abc";
    EXPECT_NE(error_of(path).find("too short"), std::string::npos);
}

TEST_F(SafetensorsTest, BadJsonGivesByteOffset) {
    auto msg = error_of(raw_file("{\"a\": {\"dtype\": ", 0));
    EXPECT_NE(msg.find("header JSON is invalid near byte"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, OffsetsOutOfRange) {
    auto msg = error_of(raw_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8));
    EXPECT_NE(msg.find("tensor 'w'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("runs past the end"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, OffsetsInconsistentWithShape) {
    auto msg = error_of(raw_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,12]}})", 12));
    EXPECT_NE(msg.find("tensor 'w'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("needs 16"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, OverlapAndHoles) {
    auto overlap = error_of(raw_file(
        R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
        6));
    EXPECT_NE(overlap.find("overlaps tensor 'a'"), std::string::npos) << overlap;
    auto hole = error_of(raw_file(
        R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[6,10]}})",
        10));
    EXPECT_NE(hole.find("belong to no tensor"), std::string::npos) << hole;
    auto trailing =
        error_of(raw_file(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 9));
    EXPECT_NE(trailing.find("after the last tensor"), std::string::npos) << trailing;
}

TEST_F(SafetensorsTest, UnknownDtypeAndBadMetadata) {
    auto dtype = error_of(raw_file(R"({"w":{"dtype":"F12","shape":[1],"data_offsets":[0,1]}})", 1));
    EXPECT_NE(dtype.find("unknown dtype \"F12\""), std::string::npos) << dtype;
    auto meta = error_of(raw_file(R"({"__metadata__":{"k":3}})", 0));
    EXPECT_NE(meta.find("'k'"), std::string::npos) << meta;
}

TEST_F(SafetensorsTest, WriterRejectsDuplicateNames) {
    EXPECT_THROW(save_safetensors(dir_ / "d.safetensors",
                                  {{"a", torch::zeros({1})}, {"a", torch::zeros({1})}}),
                 std::invalid_argument);
    EXPECT_FALSE(fs::exists(dir_ / "d.safetensors"));
}

}  // namespace
}  // namespace lowbit::io
