// The one column list of each table (run_columns.h) against the migrated database itself, read
// with PRAGMA table_info: same names, same order. A migration that adds a column without the
// list (or the reverse) fails here.
#include "lowbit/store/run_reader.h"
#include "lowbit/store/workspace.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "run_columns.h"
#include "store_test_util.h"

namespace lowbit::store {
namespace {

TEST(StoreSchemaTest, EveryColumnListMatchesTheMigratedTable) {
    test::TempDir tmp;
    { Workspace::open(tmp.path()); }
    test::RawDb db(tmp.path() / "runs.sqlite", /*read_only=*/true);
    for (const TableColumns* table : all_tables()) {
        const std::vector<std::string> migrated = db.query_column(
            std::string("SELECT name FROM pragma_table_info('") + table->table + "') ORDER BY cid");
        const std::vector<std::string> listed(table->names.begin(), table->names.end());
        EXPECT_EQ(migrated, listed) << table->table;
    }
}

// A workspace written by a build of schema version 1 (its migration file applied by hand) opens,
// migrates to the latest version and keeps its runs, which have no pid and no heartbeat.
TEST(StoreSchemaTest, VersionOneWorkspaceMigratesAndKeepsItsRuns) {
    test::TempDir tmp;
    {
        std::ifstream file(std::string(LOWBIT_SOURCE_DIR) + "/core/store/migrations/0001_init.sql");
        const std::string version_one((std::istreambuf_iterator<char>(file)),
                                      std::istreambuf_iterator<char>());
        ASSERT_FALSE(version_one.empty());
        test::RawDb db(tmp.path() / "runs.sqlite");
        db.exec(version_one);
        db.exec("PRAGMA application_id = " + std::to_string(kWorkspaceApplicationId));
        db.exec("PRAGMA user_version = 1");
        db.exec(
            "INSERT INTO runs (name, status, created_at, host) VALUES ('old', 'running', 1.0, "
            "'h')");
    }
    auto ws = Workspace::open(tmp.path());
    EXPECT_EQ(ws.schema_version(), Workspace::latest_schema_version());
    EXPECT_GE(ws.schema_version(), 2);
    const auto run = RunReader(ws).find_run("old");
    ASSERT_TRUE(run);
    EXPECT_EQ(run->status, RunStatus::kRunning);
    EXPECT_FALSE(run->pid);
    EXPECT_FALSE(run->heartbeat_at);
}

TEST(StoreSchemaTest, SqlIsBuiltFromTheList) {
    EXPECT_EQ(kEventsTable.select_sql(),
              "SELECT id, run_id, step, wall_time, kind, text FROM events ");
    EXPECT_EQ(kEventsTable.insert_sql(),
              "INSERT INTO events (run_id, step, wall_time, kind, text) VALUES (?, ?, ?, ?, ?)");
}

}  // namespace
}  // namespace lowbit::store
