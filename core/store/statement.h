// Statement: RAII owner of one prepared sqlite3_stmt (private header). Prepared once and reused:
// bind, step, reset. Binding indices are 1-based as in SQLite.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace lowbit::store {

class Statement {
public:
    Statement(sqlite3* db, std::string_view sql);  // throws StoreError
    ~Statement();
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind_int64(int index, int64_t value);
    Statement& bind_double(int index, double value);
    Statement& bind_text(int index, std::string_view value);
    Statement& bind_blob(int index, const std::vector<unsigned char>& bytes);
    Statement& bind_null(int index);
    Statement& bind_optional_int64(int index, const std::optional<int64_t>& value);

    // Advances to the next row: true when a row is available, false when done. Throws on error
    // (after resetting, so the statement can be reused).
    bool step();
    // Steps a statement that returns no rows, then resets it for the next use.
    void execute();
    // Makes the statement reusable and clears its bindings.
    void reset();

    bool column_is_null(int index) const;
    int64_t column_int64(int index) const;
    double column_double(int index) const;  // NULL (how SQLite stores NaN) reads as NaN
    std::string column_text(int index) const;
    std::optional<int64_t> column_optional_int64(int index) const;
    std::optional<double> column_optional_double(int index) const;
    std::vector<unsigned char> column_blob(int index) const;

private:
    void check_bind(int rc, int index);

    sqlite3* db_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace lowbit::store
