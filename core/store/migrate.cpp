// Applies core/store/migrations/NNNN_*.sql, embedded at build time by lowbit_embed_text.
#include "migrate.h"

#include "lowbit/store/workspace.h"

#include <sqlite3.h>

#include <string>
#include <string_view>

#include "lowbit_store_migrations.h"
#include "sqlite_error.h"
#include "statement.h"
#include "transaction.h"

namespace lowbit::store {

namespace {

// "0003_add_foo.sql" -> 3; the embedded list must be 1, 2, 3... with no hole, which the first
// call checks so a misnamed file fails every test instead of silently skipping a migration.
int migration_number(std::string_view name) {
    int number = 0;
    size_t i = 0;
    for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) {
        number = number * 10 + (name[i] - '0');
    }
    if (i == 0 || i >= name.size() || name[i] != '_') {
        throw StoreError(
            "embedded migration '" + std::string(name) + "' is not named NNNN_description.sql",
            false);
    }
    return number;
}

int read_user_version(sqlite3* db) {
    Statement query(db, "PRAGMA user_version");
    return query.step() ? static_cast<int>(query.column_int64(0)) : 0;
}

}  // namespace

int latest_schema_version() {
    int expected = 1;
    for (const auto& migration : embedded::kMigrations) {
        if (migration_number(migration.name) != expected) {
            throw StoreError("embedded migrations are not numbered 1, 2, 3...: found '" +
                                 std::string(migration.name) + "' at position " +
                                 std::to_string(expected),
                             false);
        }
        ++expected;
    }
    return expected - 1;
}

int apply_migrations(sqlite3* db) {
    latest_schema_version();  // validates the embedded numbering
    int version = read_user_version(db);
    for (const auto& migration : embedded::kMigrations) {
        const int number = migration_number(migration.name);
        if (number <= version) {
            continue;
        }
        Transaction transaction(db);
        // Another process may have applied it between our read and the write lock.
        version = read_user_version(db);
        if (number <= version) {
            continue;
        }
        try {
            exec_sql(db, std::string(migration.text));
        } catch (const StoreError& error) {
            throw StoreError(
                std::string(error.what()) + " (in migration " + std::string(migration.name) + ")",
                error.is_bad_input());
        }
        if (number == 1) {
            exec_sql(db, "PRAGMA application_id = " + std::to_string(kLowbitApplicationId));
        }
        exec_sql(db, "PRAGMA user_version = " + std::to_string(number));
        transaction.commit();
        version = number;
    }
    return version;
}

}  // namespace lowbit::store
