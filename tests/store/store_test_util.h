// Helpers shared by the store tests: a temporary directory and raw SQLite access that bypasses
// lowbit_store, so tests check what is really in the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

struct sqlite3;

namespace lowbit::store::test {

// A fresh directory under the system temp folder, removed (recursively) on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const {
        return path_;
    }

private:
    std::filesystem::path path_;
};

// A raw connection of its own (not the library's), closed on destruction.
class RawDb {
public:
    explicit RawDb(const std::filesystem::path& file, bool read_only = false);
    ~RawDb();
    RawDb(const RawDb&) = delete;
    RawDb& operator=(const RawDb&) = delete;

    void exec(const std::string& sql);
    // First column of the first row as text ("" when there is no row).
    std::string query_text(const std::string& sql);
    int64_t query_int(const std::string& sql);
    // The first column of every row, as text.
    std::vector<std::string> query_column(const std::string& sql);

private:
    sqlite3* db_ = nullptr;
};

std::vector<char> read_bytes(const std::filesystem::path& file);
void write_bytes(const std::filesystem::path& file, const std::vector<char>& bytes);

}  // namespace lowbit::store::test
