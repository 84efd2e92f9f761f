// Helpers of the lowbit_config tests: a scratch folder, file writing, and catching a RecipeError.
#pragma once

#include "lowbit/config/recipe_yaml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace lowbit::config::testing {

// A fresh folder under the system temp dir, removed at destruction.
class ScratchDir {
public:
    ScratchDir() {
        std::random_device seed;
        path_ = std::filesystem::temp_directory_path() /
                ("lowbit_config_test_" + std::to_string(seed()) + std::to_string(seed()));
        std::filesystem::create_directories(path_);
    }

    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }

    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    const std::filesystem::path& path() const {
        return path_;
    }

    std::filesystem::path write(const std::string& name, const std::string& text) const {
        const std::filesystem::path file = path_ / name;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary) << text;
        return file;
    }

private:
    std::filesystem::path path_;
};

// Parses `text` as "bad.yaml" and returns the RecipeError it must raise.
inline RecipeError parse_error(const std::string& text,
                               const std::vector<std::string>& overrides = {}) {
    try {
        parse_recipe_yaml(text, "bad.yaml", overrides);
    } catch (const RecipeError& e) {
        return e;
    }
    ADD_FAILURE() << "no RecipeError for:\n" << text;
    return RecipeError("", 0, 0, "", "");
}

// Parses `text` as "bad.yaml" and checks the RecipeError's location (line, column), its key and
// the "bad.yaml:LINE:COLUMN: KEY: " prefix of its message, which contains every needle.
inline void expect_error(const std::string& text,
                         int line,
                         int column,
                         const std::string& key_path,
                         const std::vector<std::string>& needles) {
    const RecipeError e = parse_error(text);
    EXPECT_EQ(e.file(), "bad.yaml") << text;
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_EQ(e.column(), column) << e.what();
    EXPECT_EQ(e.key_path(), key_path) << e.what();
    const std::string prefix = "bad.yaml:" + std::to_string(line) + ":" + std::to_string(column) +
                               ": " + (key_path.empty() ? "" : key_path + ": ");
    EXPECT_EQ(std::string(e.what()).rfind(prefix, 0), 0u) << e.what();
    for (const auto& needle : needles) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr(needle));
    }
}

inline void expect_error(const std::string& text,
                         int line,
                         int column,
                         const std::string& key_path,
                         const char* needle) {
    expect_error(text, line, column, key_path, std::vector<std::string>{needle});
}

}  // namespace lowbit::config::testing
