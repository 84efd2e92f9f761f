// Turns an SQLite result code into a StoreError that names the database file (private header).
#pragma once

#include <string>
#include <string_view>

struct sqlite3;

namespace lowbit::store {

// The file name of the main database of `db` ("(memory)" for an in-memory one).
std::string database_name(sqlite3* db);

// Throws StoreError("<db file>: <what>: <sqlite message>"). SQLITE_NOTADB is bad input (the file
// is not ours); everything else (I/O, disk full, busy, constraint) is an operational failure.
[[noreturn]] void throw_sqlite_error(sqlite3* db, int rc, std::string_view what);

// Throws when `rc` is not SQLITE_OK.
void check_sqlite(sqlite3* db, int rc, std::string_view what);

// Runs one or more SQL statements without results (schema, pragmas, BEGIN/COMMIT).
void exec_sql(sqlite3* db, const std::string& sql);

}  // namespace lowbit::store
