// RAII prepared statement over the SQLite C API.
#include "statement.h"

#include <sqlite3.h>

#include <limits>
#include <utility>

#include "sqlite_error.h"

namespace lowbit::store {

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
    const int rc = sqlite3_prepare_v3(
        db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(stmt_);
        stmt_ = nullptr;
        throw_sqlite_error(db, rc, "preparing \"" + std::string(sql.substr(0, 60)) + "\"");
    }
}

Statement::~Statement() {
    sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
    if (this != &other) {
        sqlite3_finalize(stmt_);
        db_ = std::exchange(other.db_, nullptr);
        stmt_ = std::exchange(other.stmt_, nullptr);
    }
    return *this;
}

void Statement::check_bind(int rc, int index) {
    if (rc != SQLITE_OK) {
        throw_sqlite_error(db_, rc, "binding parameter " + std::to_string(index));
    }
}

Statement& Statement::bind_int64(int index, int64_t value) {
    check_bind(sqlite3_bind_int64(stmt_, index, value), index);
    return *this;
}

Statement& Statement::bind_double(int index, double value) {
    check_bind(sqlite3_bind_double(stmt_, index, value), index);
    return *this;
}

Statement& Statement::bind_text(int index, std::string_view value) {
    check_bind(sqlite3_bind_text64(
                   stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
               index);
    return *this;
}

Statement& Statement::bind_blob(int index, const std::vector<unsigned char>& bytes) {
    // A zero-length blob must still be a blob, not NULL: pass a non-null pointer.
    static const unsigned char kEmpty = 0;
    const void* data = bytes.empty() ? &kEmpty : bytes.data();
    check_bind(sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_TRANSIENT), index);
    return *this;
}

Statement& Statement::bind_null(int index) {
    check_bind(sqlite3_bind_null(stmt_, index), index);
    return *this;
}

Statement& Statement::bind_optional_int64(int index, const std::optional<int64_t>& value) {
    return value ? bind_int64(index, *value) : bind_null(index);
}

bool Statement::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc == SQLITE_DONE) {
        return false;
    }
    sqlite3_reset(stmt_);
    throw_sqlite_error(
        db_, rc, "executing \"" + std::string(sqlite3_sql(stmt_)).substr(0, 60) + "\"");
}

void Statement::execute() {
    step();
    reset();
}

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

bool Statement::column_is_null(int index) const {
    return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

int64_t Statement::column_int64(int index) const {
    return sqlite3_column_int64(stmt_, index);
}

double Statement::column_double(int index) const {
    if (column_is_null(index)) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    return sqlite3_column_double(stmt_, index);
}

std::string Statement::column_text(int index) const {
    const auto* text = sqlite3_column_text(stmt_, index);
    const int size = sqlite3_column_bytes(stmt_, index);
    if (text == nullptr) {
        return {};
    }
    return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

std::optional<int64_t> Statement::column_optional_int64(int index) const {
    if (column_is_null(index)) {
        return std::nullopt;
    }
    return column_int64(index);
}

std::optional<double> Statement::column_optional_double(int index) const {
    if (column_is_null(index)) {
        return std::nullopt;
    }
    return sqlite3_column_double(stmt_, index);
}

std::vector<unsigned char> Statement::column_blob(int index) const {
    const auto* data = static_cast<const unsigned char*>(sqlite3_column_blob(stmt_, index));
    const int size = sqlite3_column_bytes(stmt_, index);
    if (data == nullptr || size <= 0) {
        return {};
    }
    return std::vector<unsigned char>(data, data + size);
}

}  // namespace lowbit::store
