// Helpers shared by the lowbit_data tests: a self-removing temporary folder, small file writers
// and a generated English-like text for tests that must not depend on /work/shared/data.
#pragma once

#include "lowbit/data/markov_source.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <stdlib.h>

namespace lowbit::data::test_util {

class TempDir {
public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "lowbit-data-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }

    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }

    const std::filesystem::path& path() const {
        return path_;
    }

    std::filesystem::path operator/(const std::string& name) const {
        return path_ / name;
    }

private:
    std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& path, std::string_view contents) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
}

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// English-like text of about `bytes` characters, with line breaks, from builtin:markov.
inline std::string generated_text(int64_t bytes, uint64_t seed = 11) {
    config::MarkovSpec spec;
    spec.words = 300;
    spec.successors = 8;
    spec.tokens = bytes;
    spec.seed = seed;
    std::string text = generate_markov_text(make_markov_source(spec), spec);
    // A line break every ~80 characters, at a space, like ordinary prose files.
    size_t last = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == ' ' && i - last > 80) {
            text[i] = '\n';
            last = i;
        }
    }
    return text;
}

}  // namespace lowbit::data::test_util
