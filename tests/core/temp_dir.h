// TempDir: a unique scratch folder for one test, removed with its contents afterwards.
// std::filesystem::remove_all is avoided on purpose: the LibTorch wheel exports its own copy of
// it, which crashes when called from code built with the system libstdc++.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>

#include <unistd.h>

namespace lowbit::testing {

inline void remove_tree(const std::filesystem::path& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(std::filesystem::symlink_status(path, ec))) {
        for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
            remove_tree(entry.path());
        }
    }
    std::filesystem::remove(path, ec);
}

class TempDir {
public:
    explicit TempDir(const std::string& tag)
        : path_(std::filesystem::temp_directory_path() /
                ("lowbit_" + tag + "_" + std::to_string(::getpid()))) {
        remove_tree(path_);
        std::filesystem::create_directories(path_);
    }

    ~TempDir() {
        remove_tree(path_);
    }

    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const {
        return path_;
    }

private:
    std::filesystem::path path_;
};

}  // namespace lowbit::testing
