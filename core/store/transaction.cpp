// RAII write transaction.
#include "transaction.h"

#include <sqlite3.h>

#include "sqlite_error.h"

namespace lowbit::store {

Transaction::Transaction(sqlite3* db) : db_(db) {
    exec_sql(db_, "BEGIN IMMEDIATE");
    open_ = true;
}

Transaction::~Transaction() {
    if (open_ && sqlite3_get_autocommit(db_) == 0) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

void Transaction::commit() {
    exec_sql(db_, "COMMIT");
    open_ = false;
}

}  // namespace lowbit::store
