// The one column list of each table (run_columns.h) against the migrated database itself, read
// with PRAGMA table_info: same names, same order. A migration that adds a column without the
// list (or the reverse) fails here.
#include "lowbit/store/run_reader.h"
#include "lowbit/store/workspace.h"

#include <gtest/gtest.h>

#include <cmath>
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

// A schema-2 workspace with telemetry in the old layout (each histogram row repeating the
// tensor's statistics, the quantizer metrics in quant_stats) migrates to one tensor_stats row per
// tensor and histogram rows that keep only their bins; the values are the hand-inserted ones.
TEST(StoreSchemaTest, VersionTwoTelemetryMovesIntoTensorStats) {
    test::TempDir tmp;
    {
        test::RawDb db(tmp.path() / "runs.sqlite");
        for (const char* name : {"0001_init.sql", "0002_run_liveness.sql"}) {
            std::ifstream file(std::string(LOWBIT_SOURCE_DIR) + "/core/store/migrations/" + name);
            const std::string sql((std::istreambuf_iterator<char>(file)),
                                  std::istreambuf_iterator<char>());
            ASSERT_FALSE(sql.empty()) << name;
            db.exec(sql);
        }
        db.exec("PRAGMA application_id = " + std::to_string(kWorkspaceApplicationId));
        db.exec("PRAGMA user_version = 2");
        db.exec("INSERT INTO runs (name, created_at) VALUES ('old', 1.0)");
        // W of layer fc quantized on the 4-bit reference grid (codes -8..7, 16 bins), A not.
        const std::string columns =
            "INSERT INTO histograms (run_id, step, layer, tensor_kind, bin_scheme, bin_lo, bin_hi,"
            " counts, n, min, max, sum, sumsq, nan_count, inf_count, zero_count, clipped_low,"
            " clipped_high) VALUES ";
        db.exec(columns +
                "(1, 10, 'fc', 'weight', 'uniform', -2, 3, x'0100000000000000', 40, -2, 3, 1.5, 9,"
                " 1, 2, 3, 0, 0)");
        db.exec(columns +
                "(1, 10, 'fc', 'weight', 'grid', -8.5, 7.5, x'0200000000000000', 40, -2, 3, 1.5, 9,"
                " 1, 2, 3, 4, 5)");
        db.exec(columns +
                "(1, 10, 'fc', 'activation', 'uniform', 0, 1, x'0300000000000000', 7, 0, 1, 2, 3,"
                " 0, 0, 1, 0, 0)");
        db.exec(columns +
                "(1, 10, 'fc', 'activation', 'log2', -64, 16, x'0400000000000000', 7, 0, 1, 2, 3,"
                " 0, 0, 1, 6, 7)");
        db.exec(
            "INSERT INTO quant_stats (run_id, step, layer, tensor_kind, sqnr_db, mse,"
            " clip_fraction, underflow_fraction, scale_min, scale_max, absmax_over_sigma,"
            " kurtosis) VALUES (1, 10, 'fc', 'weight', 20.5, 0.25, 0.125, 0.0625, 0.5, 0.75,"
            " 4.5, 3.25)");
    }
    auto ws = Workspace::open(tmp.path());
    ASSERT_GE(ws.schema_version(), 3);
    const RunReader reader(ws);
    const auto weight = reader.tensor_stats(1, "fc", "weight");
    ASSERT_EQ(weight.size(), 1u);
    EXPECT_EQ(weight[0].step, 10);
    EXPECT_EQ(weight[0].quantizer, "{}");  // quantized, parameters not recorded by schema 2
    EXPECT_EQ(weight[0].qn, -8);
    EXPECT_EQ(weight[0].qp, 7);
    EXPECT_EQ(weight[0].n, 40);
    EXPECT_EQ(weight[0].min, -2);
    EXPECT_EQ(weight[0].max, 3);
    EXPECT_EQ(weight[0].sum, 1.5);
    EXPECT_EQ(weight[0].sumsq, 9);
    EXPECT_EQ(weight[0].nan_count, 1);
    EXPECT_EQ(weight[0].inf_count, 2);
    EXPECT_EQ(weight[0].zero_count, 3);
    EXPECT_EQ(weight[0].clipped_low, 4);
    EXPECT_EQ(weight[0].clipped_high, 5);
    EXPECT_EQ(weight[0].sqnr_db, 20.5);
    EXPECT_EQ(weight[0].mse, 0.25);
    EXPECT_EQ(weight[0].clip_fraction, 0.125);
    EXPECT_EQ(weight[0].underflow_fraction, 0.0625);
    EXPECT_EQ(weight[0].scale_min, 0.5);
    EXPECT_EQ(weight[0].scale_max, 0.75);
    EXPECT_EQ(weight[0].absmax_over_sigma, 4.5);
    EXPECT_EQ(weight[0].kurtosis, 3.25);

    const auto activation = reader.tensor_stats(1, "fc", "activation");
    ASSERT_EQ(activation.size(), 1u);
    EXPECT_FALSE(activation[0].quantizer.has_value());
    EXPECT_FALSE(activation[0].qn.has_value());
    EXPECT_EQ(activation[0].n, 7);
    EXPECT_EQ(activation[0].clipped_low + activation[0].clipped_high, 0);
    EXPECT_TRUE(std::isnan(activation[0].sqnr_db));  // no quant_stats row

    const auto bins = reader.histograms(1, "fc", "activation");
    ASSERT_EQ(bins.size(), 2u);
    EXPECT_EQ(bins[0].bin_scheme, "uniform");
    EXPECT_EQ(bins[0].below + bins[0].above, 0);
    EXPECT_EQ(bins[1].bin_scheme, "log2");
    EXPECT_EQ(bins[1].below, 6);  // the log2 row's out-of-range magnitudes
    EXPECT_EQ(bins[1].above, 7);
    const auto grid = reader.histograms(1, "fc", "weight");
    ASSERT_EQ(grid.size(), 2u);
    EXPECT_EQ(grid[1].bin_lo, -8.5);
    EXPECT_EQ(grid[1].below + grid[1].above, 0);  // the grid's clips are statistics now
    EXPECT_EQ(grid[1].counts, std::vector<int64_t>{2});
}

TEST(StoreSchemaTest, SqlIsBuiltFromTheList) {
    EXPECT_EQ(kEventsTable.select_sql(),
              "SELECT id, run_id, step, wall_time, kind, text FROM events ");
    EXPECT_EQ(kEventsTable.insert_sql(),
              "INSERT INTO events (run_id, step, wall_time, kind, text) VALUES (?, ?, ?, ?, ?)");
}

}  // namespace
}  // namespace lowbit::store
