// Opening a workspace to read it: a workspace one schema version behind is upgraded once and then
// read (its rows kept), while a foreign SQLite file and a workspace of a newer version are
// refused as a read-only open refuses them, with the file left byte for byte as it was.
#include "lowbit/store/open_for_reading.h"

#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_writer.h"

#include <gtest/gtest.h>

#include "store_test_util.h"

namespace lowbit::store {
namespace {

TEST(OpenForReading, AnOlderSchemaIsUpgradedAndItsRowsKept) {
    test::TempDir dir;
    {
        Workspace ws = Workspace::open(dir.path());
        RunWriter writer(ws);
        RunRecord run;
        run.name = "kept";
        run.kind = "train";
        run.recipe_json = "{}";
        writer.create_run(run);
    }
    // What a workspace written before the Block-AP rows had a step looks like: the last
    // migration undone (version 1's block_ap, which had none).
    const int latest = Workspace::latest_schema_version();
    {
        test::RawDb raw(dir.path() / "runs.sqlite");
        raw.exec("DROP TABLE block_ap");
        raw.exec("CREATE TABLE block_ap (id INTEGER PRIMARY KEY, run_id INTEGER, block INTEGER)");
        raw.exec("PRAGMA user_version = " + std::to_string(latest - 1));
    }
    EXPECT_THROW(Workspace::open(dir.path(), OpenMode::kReadOnly), StoreError);

    Workspace ws = open_for_reading(dir.path());
    EXPECT_EQ(ws.schema_version(), latest);
    RunReader reader(ws);
    ASSERT_EQ(reader.list_runs().size(), 1u);
    EXPECT_EQ(reader.list_runs()[0].name, "kept");
    test::RawDb raw(dir.path() / "runs.sqlite", true);
    EXPECT_EQ(raw.query_int("SELECT count(*) FROM pragma_table_info('block_ap') WHERE name = "
                            "'step'"),
              1);
}

TEST(OpenForReading, ForeignAndNewerDatabasesAreRefusedUntouched) {
    test::TempDir foreign;
    {
        test::RawDb raw(foreign.path() / "runs.sqlite");
        raw.exec("CREATE TABLE notes (text TEXT)");
    }
    const auto foreign_bytes = test::read_bytes(foreign.path() / "runs.sqlite");
    EXPECT_THROW(open_for_reading(foreign.path()), StoreError);
    EXPECT_EQ(test::read_bytes(foreign.path() / "runs.sqlite"), foreign_bytes);

    test::TempDir newer;
    { Workspace::open(newer.path()); }
    {
        test::RawDb raw(newer.path() / "runs.sqlite");
        raw.exec("PRAGMA user_version = " + std::to_string(Workspace::latest_schema_version() + 1));
    }
    const auto newer_bytes = test::read_bytes(newer.path() / "runs.sqlite");
    EXPECT_THROW(open_for_reading(newer.path()), StoreError);
    EXPECT_EQ(test::read_bytes(newer.path() / "runs.sqlite"), newer_bytes);

    test::TempDir missing;
    EXPECT_THROW(open_for_reading(missing.path() / "nowhere"), StoreError);
}

}  // namespace
}  // namespace lowbit::store
