// Checkpoints: round trip of every part, and refusal of truncated, corrupted, incomplete and
// foreign checkpoints with messages naming the file.
#include "lowbit/train/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace lowbit::train {
namespace {
namespace fs = std::filesystem;

class CheckpointTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("lowbit-ckpt-" + std::to_string(getpid()));
        fs::remove_all(dir_);
        content_.step = 42;
        content_.tokens_seen = 4200;
        content_.model_config = {{"layers", 2}};
        content_.tokenizer = {{"kind", "byte"}};
        content_.model = {{"w", torch::randn({3, 4})}, {"b", torch::randn({4})}};
        content_.optimizer = {{"w.exp_avg", torch::randn({3, 4})},
                              {"step", torch::tensor({7}, torch::kInt64)}};
        content_.rng = {{"cpu", torch::randint(0, 255, {16}, torch::kUInt8)}};
        written_ = write_checkpoint(checkpoint_dir_name(dir_, 42), content_);
    }

    void TearDown() override {
        fs::remove_all(dir_);
    }

    std::string error_of(const std::optional<std::string>& checksum = {}) const {
        try {
            read_checkpoint(written_.dir, checksum);
        } catch (const std::exception& e) {
            return e.what();
        }
        return "";
    }

    fs::path dir_;
    CheckpointContent content_;
    WrittenCheckpoint written_;
};

TEST_F(CheckpointTest, RoundTripsEveryPart) {
    EXPECT_EQ(written_.dir.filename(), "step-0000042");
    EXPECT_FALSE(fs::exists(dir_ / "checkpoints" / "step-0000042.tmp-" / ""));
    const CheckpointContent back = read_checkpoint(written_.dir, written_.manifest_sha256);
    EXPECT_EQ(back.step, 42);
    EXPECT_EQ(back.tokens_seen, 4200);
    EXPECT_EQ(back.model_config, content_.model_config);
    ASSERT_EQ(back.model.size(), 2u);
    EXPECT_TRUE(torch::equal(back.model[0].second, content_.model[0].second));
    EXPECT_TRUE(torch::equal(back.optimizer[1].second, content_.optimizer[1].second));
    EXPECT_TRUE(torch::equal(back.rng[0].second, content_.rng[0].second));
}

TEST_F(CheckpointTest, TruncatedFileIsRefused) {
    fs::resize_file(written_.dir / "model.safetensors",
                    fs::file_size(written_.dir / "model.safetensors") - 3);
    const std::string error = error_of();
    EXPECT_NE(error.find("model.safetensors"), std::string::npos) << error;
    EXPECT_NE(error.find("truncated"), std::string::npos) << error;
}

TEST_F(CheckpointTest, FlippedByteIsRefused) {
    std::fstream file(written_.dir / "rng.safetensors",
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(-1, std::ios::end);
    const char last = static_cast<char>(file.get());
    file.seekp(-1, std::ios::end);
    file.put(static_cast<char>(last ^ 0x55));
    file.close();
    EXPECT_NE(error_of().find("rng.safetensors"), std::string::npos);
}

TEST_F(CheckpointTest, MissingFileAndForeignManifestAreRefused) {
    const std::string good = error_of();
    EXPECT_EQ(good, "");
    EXPECT_NE(error_of("0000").find("checksum"), std::string::npos);
    fs::remove(written_.dir / "optimizer.safetensors");
    EXPECT_NE(error_of().find("optimizer.safetensors is missing"), std::string::npos);
    fs::remove(written_.dir / "manifest.json");
    EXPECT_NE(error_of().find("no manifest.json"), std::string::npos);
}

}  // namespace
}  // namespace lowbit::train
