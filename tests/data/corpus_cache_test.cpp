// prepare_corpus_cached: reuse without rewriting, invalidation when an input or setting
// changes, and recovery from an incomplete cache folder.
#include "lowbit/data/corpus.h"
#include "lowbit/data/data_error.h"

#include <gtest/gtest.h>

#include <thread>

#include "test_util.h"

namespace lowbit::data {
namespace {

using test_util::TempDir;
using test_util::write_file;

config::DataSpec spec_for(const std::filesystem::path& input) {
    config::DataSpec spec;
    spec.train = {input.string()};
    spec.tokenizer = config::TokenizerKind::kByte;
    return spec;
}

int count_entries(const std::filesystem::path& dir) {
    int n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) {
        ++n;
    }
    return n;
}

TEST(CorpusCache, ReusesCompletePreparation) {
    TempDir dir;
    write_file(dir / "in.txt", test_util::generated_text(5000));
    const PreparedData first = prepare_corpus_cached(spec_for(dir / "in.txt"), dir / "cache");
    EXPECT_EQ(first.dir.parent_path(), dir / "cache");
    EXPECT_TRUE(std::filesystem::exists(first.dir / "complete"));
    EXPECT_EQ(count_entries(dir / "cache"), 1);  // no temporary folders left behind
    const auto train_mtime = std::filesystem::last_write_time(first.train_path);
    const auto val_mtime = std::filesystem::last_write_time(first.val_path);

    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const PreparedData second = prepare_corpus_cached(spec_for(dir / "in.txt"), dir / "cache");
    EXPECT_EQ(second.dir, first.dir);
    EXPECT_EQ(second.train_meta.sha256, first.train_meta.sha256);
    EXPECT_EQ(second.val_meta.tokens, first.val_meta.tokens);
    EXPECT_EQ(std::filesystem::last_write_time(second.train_path), train_mtime);
    EXPECT_EQ(std::filesystem::last_write_time(second.val_path), val_mtime);
}

TEST(CorpusCache, ChangedInputOrSettingInvalidates) {
    TempDir dir;
    write_file(dir / "in.txt", "first version of the corpus text");
    const PreparedData first = prepare_corpus_cached(spec_for(dir / "in.txt"), dir / "cache");

    write_file(dir / "in.txt", "second version of the corpus text");
    const PreparedData second = prepare_corpus_cached(spec_for(dir / "in.txt"), dir / "cache");
    EXPECT_NE(second.dir, first.dir);
    EXPECT_NE(second.train_meta.sha256, first.train_meta.sha256);

    config::DataSpec other_split = spec_for(dir / "in.txt");
    other_split.val_fraction = 0.25;
    const PreparedData third = prepare_corpus_cached(other_split, dir / "cache");
    EXPECT_NE(third.dir, second.dir);
    EXPECT_EQ(count_entries(dir / "cache"), 3);
}

TEST(CorpusCache, IncompleteFolderIsRebuilt) {
    TempDir dir;
    write_file(dir / "in.txt", "some corpus text for the cache");
    const PreparedData first = prepare_corpus_cached(spec_for(dir / "in.txt"), dir / "cache");
    // Simulate a crash after the shards but before the marker.
    std::filesystem::remove(first.dir / "complete");
    std::filesystem::remove(first.val_path);
    const PreparedData second = prepare_corpus_cached(spec_for(dir / "in.txt"), dir / "cache");
    EXPECT_EQ(second.dir, first.dir);
    EXPECT_TRUE(std::filesystem::exists(second.val_path));
    EXPECT_TRUE(std::filesystem::exists(second.dir / "complete"));
    EXPECT_EQ(second.train_meta.sha256, first.train_meta.sha256);
}

TEST(CorpusCache, MissingInputIsAnError) {
    TempDir dir;
    EXPECT_THROW(prepare_corpus_cached(spec_for(dir / "absent.txt"), dir / "cache"), DataError);
}

}  // namespace
}  // namespace lowbit::data
