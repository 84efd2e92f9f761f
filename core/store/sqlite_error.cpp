// Error helpers shared by every SQLite call in lowbit_store.
#include "sqlite_error.h"

#include "lowbit/store/workspace.h"

#include <sqlite3.h>

namespace lowbit::store {

std::string database_name(sqlite3* db) {
    const char* name = db != nullptr ? sqlite3_db_filename(db, "main") : nullptr;
    if (name == nullptr || *name == '\0') {
        return "(memory)";
    }
    return name;
}

void throw_sqlite_error(sqlite3* db, int rc, std::string_view what) {
    std::string message = database_name(db) + ": " + std::string(what) + ": ";
    // The connection's message is more precise than the generic one (it names the constraint or
    // the syntax error) but only describes the last call on this connection.
    const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    message += detail != nullptr ? detail : sqlite3_errstr(rc);
    const int primary = rc & 0xff;
    if (primary == SQLITE_FULL) {
        message += " (the disk is full)";
    }
    throw StoreError(message, primary == SQLITE_NOTADB);
}

void check_sqlite(sqlite3* db, int rc, std::string_view what) {
    if (rc != SQLITE_OK) {
        throw_sqlite_error(db, rc, what);
    }
}

void exec_sql(sqlite3* db, const std::string& sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
        std::string detail = error != nullptr ? error : sqlite3_errstr(rc);
        sqlite3_free(error);
        std::string message = database_name(db) + ": " + detail;
        if ((rc & 0xff) == SQLITE_FULL) {
            message += " (the disk is full)";
        }
        throw StoreError(message, (rc & 0xff) == SQLITE_NOTADB);
    }
}

}  // namespace lowbit::store
