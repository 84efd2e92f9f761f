#include "lowbit/store/open_for_reading.h"

#include <sqlite3.h>

#include "migrate.h"

namespace lowbit::store {

namespace {

// A lowbit workspace database whose schema is older than this build's.
bool older_schema(const std::filesystem::path& database) {
    sqlite3* db = nullptr;
    bool older = false;
    if (sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        auto pragma = [db](const char* sql) {
            sqlite3_stmt* query = nullptr;
            int64_t value = -1;
            if (sqlite3_prepare_v2(db, sql, -1, &query, nullptr) == SQLITE_OK &&
                sqlite3_step(query) == SQLITE_ROW) {
                value = sqlite3_column_int64(query, 0);
            }
            sqlite3_finalize(query);
            return value;
        };
        const int64_t version = pragma("PRAGMA user_version");
        older = pragma("PRAGMA application_id") == kLowbitApplicationId && version >= 1 &&
                version < latest_schema_version();
    }
    sqlite3_close(db);
    return older;
}

}  // namespace

Workspace open_for_reading(const std::filesystem::path& root) {
    try {
        return Workspace::open(root, OpenMode::kReadOnly);
    } catch (const StoreError&) {
        if (!older_schema(root / "runs.sqlite")) {
            throw;
        }
    }
    Workspace::open(root, OpenMode::kReadWrite);  // applies the missing migrations
    return Workspace::open(root, OpenMode::kReadOnly);
}

}  // namespace lowbit::store
