// Transaction: RAII BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted (private).
#pragma once

struct sqlite3;

namespace lowbit::store {

class Transaction {
public:
    // IMMEDIATE takes the write lock up front, so the busy timeout applies at BEGIN instead of
    // a lock upgrade failing half-way through the batch.
    explicit Transaction(sqlite3* db);
    ~Transaction();  // rolls back if commit() was not reached; never throws
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void commit();

private:
    sqlite3* db_;
    bool open_ = false;
};

}  // namespace lowbit::store
