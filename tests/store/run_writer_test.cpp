// RunWriter: batching visibility (by rows and by age), immediate events and files, status times,
// truncate_after, histogram blobs, NaN values and crash safety of a writer process that dies
// without flushing.
#include "lowbit/store/run_writer.h"

#include "lowbit/store/run_reader.h"
#include "lowbit/store/workspace.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

#include "store_test_util.h"
#include <sys/wait.h>
#include <unistd.h>

namespace lowbit::store {
namespace {

using test::RawDb;
using test::TempDir;

ScalarPoint scalar(int64_t run_id, const std::string& key, int64_t step, double value) {
    ScalarPoint point;
    point.run_id = run_id;
    point.key = key;
    point.step = step;
    point.tokens = step * 1024;
    point.wall_time = 0.5 * static_cast<double>(step);
    point.value = value;
    return point;
}

RunRecord train_run(const std::string& name) {
    RunRecord run;
    run.name = name;
    run.kind = "train";
    run.recipe_json = R"({"optim":{"lr":0.001}})";
    return run;
}

int64_t count_rows(const std::filesystem::path& root, const std::string& table) {
    return RawDb(root / "runs.sqlite", true).query_int("SELECT count(*) FROM " + table);
}

TEST(StoreRunWriterTest, CreateRunFillsIdTimeAndFolder) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    RunWriter writer(ws);
    const int64_t a = writer.create_run(train_run("a"));
    const int64_t b = writer.create_run(train_run("b"));
    EXPECT_GT(a, 0);
    EXPECT_GT(b, a);
    EXPECT_TRUE(std::filesystem::is_directory(ws.run_dir(a)));
    const auto run = RunReader(ws).find_run(a);
    ASSERT_TRUE(run);
    EXPECT_EQ(run->name, "a");
    EXPECT_EQ(run->status, RunStatus::kCreated);
    EXPECT_EQ(run->recipe_json, R"({"optim":{"lr":0.001}})");
    EXPECT_GT(run->created_at, 1.6e9);
    EXPECT_FALSE(run->started_at);
}

TEST(StoreRunWriterTest, BufferedRowsAreInvisibleToAnotherConnectionUntilFlushed) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    RunWriter writer(ws, 5);
    const int64_t run = writer.create_run(train_run("batch"));
    auto reader_ws = Workspace::open(tmp.path(), OpenMode::kReadOnly);
    RunReader reader(reader_ws);

    for (int step = 1; step <= 4; ++step) {
        writer.add_scalar(scalar(run, "train/loss", step, 1.0 / step));
    }
    EXPECT_EQ(reader.scalars(run).size(), 0u);
    EXPECT_EQ(count_rows(tmp.path(), "scalars"), 0);
    writer.flush();
    EXPECT_EQ(reader.scalars(run).size(), 4u);

    // The fifth buffered row of any kind reaches batch_rows and commits the batch by itself.
    for (int step = 5; step <= 8; ++step) {
        writer.add_scalar(scalar(run, "train/loss", step, 1.0 / step));
    }
    EXPECT_EQ(reader.scalars(run).size(), 4u);
    TensorStatsRecord stat;
    stat.run_id = run;
    stat.step = 8;
    stat.layer = "blocks.0.mlp.fc";
    stat.tensor_kind = "weight";
    stat.sqnr_db = 31.5;
    writer.add_tensor_stats(stat);
    EXPECT_EQ(reader.scalars(run).size(), 8u);
    ASSERT_EQ(reader.tensor_stats(run).size(), 1u);
    EXPECT_DOUBLE_EQ(reader.tensor_stats(run)[0].sqnr_db, 31.5);
}

// With an age limit, buffered rows are committed by the first add or heartbeat after the oldest
// of them has waited that long (never earlier: nothing commits between calls), and flush_soon()
// leaves a young batch to it; without one, flush_soon() commits at once.
TEST(StoreRunWriterTest, AgeLimitCommitsOnceTheOldestRowHasWaited) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    RunWriter writer(ws, 1000, 1.0);
    const int64_t run = writer.create_run(train_run("aged"));
    auto reader_ws = Workspace::open(tmp.path(), OpenMode::kReadOnly);
    RunReader reader(reader_ws);

    const auto wait_past_limit = [] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    };
    writer.add_scalar(scalar(run, "train/loss", 1, 1.0));
    writer.flush_soon();
    writer.heartbeat();
    EXPECT_EQ(reader.scalars(run).size(), 0u) << "a batch younger than the limit waits";
    wait_past_limit();
    writer.add_scalar(scalar(run, "train/loss", 2, 0.5));
    EXPECT_EQ(reader.scalars(run).size(), 2u) << "the add after the limit commits both rows";

    writer.add_scalar(scalar(run, "train/loss", 3, 0.25));
    EXPECT_EQ(reader.scalars(run).size(), 2u) << "a new batch starts its own age";
    wait_past_limit();
    writer.heartbeat();
    EXPECT_EQ(reader.scalars(run).size(), 3u) << "a heartbeat past the limit commits too";

    RunWriter no_limit(ws, 1000);
    no_limit.add_scalar(scalar(run, "train/loss", 4, 0.125));
    EXPECT_EQ(reader.scalars(run).size(), 3u);
    no_limit.flush_soon();
    EXPECT_EQ(reader.scalars(run).size(), 4u);
}

TEST(StoreRunWriterTest, EventsAndFilesCommitImmediatelyAfterPendingRows) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    RunWriter writer(ws, 1000);
    const int64_t run = writer.create_run(train_run("events"));
    writer.add_scalar(scalar(run, "train/loss", 10, 2.5));
    writer.add_event({0, run, 10, 0, "eval", "val/loss 2.7"});
    EXPECT_EQ(count_rows(tmp.path(), "scalars"), 1);
    EXPECT_EQ(count_rows(tmp.path(), "events"), 1);

    writer.add_scalar(scalar(run, "train/loss", 20, 2.4));
    FileRecord checkpoint;
    checkpoint.run_id = run;
    checkpoint.step = 20;
    checkpoint.path = "runs/1/checkpoints/step-20";
    checkpoint.bytes = 4096;
    checkpoint.sha256 = std::string(64, 'a');
    const int64_t id = writer.add_checkpoint(checkpoint);
    EXPECT_GT(id, 0);
    EXPECT_EQ(count_rows(tmp.path(), "scalars"), 2);

    FileRecord artifact = checkpoint;
    artifact.kind = "hf-export";
    artifact.path = "runs/1/export";
    writer.add_artifact(artifact);

    RunReader reader(ws);
    const auto events = reader.events(run);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, "eval");
    EXPECT_EQ(events[0].text, "val/loss 2.7");
    EXPECT_GT(events[0].wall_time, 1.6e9);  // filled in when 0
    const auto latest = reader.latest_checkpoint(run);
    ASSERT_TRUE(latest);
    EXPECT_EQ(latest->id, id);
    EXPECT_EQ(latest->kind, "checkpoint");
    EXPECT_EQ(latest->bytes, 4096);
    ASSERT_EQ(reader.artifacts(run).size(), 1u);
    EXPECT_EQ(reader.artifacts(run)[0].kind, "hf-export");
    // Row ids follow insertion order, which is what the GUI's "since row id" relies on.
    const auto points = reader.scalars(run);
    ASSERT_EQ(points.size(), 2u);
    EXPECT_LT(points[0].row_id, points[1].row_id);
    EXPECT_EQ(reader.scalars(run, {}, points[0].row_id).size(), 1u);
}

TEST(StoreRunWriterTest, StatusSetsStartAndEndTimes) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    RunWriter writer(ws);
    RunReader reader(ws);
    const int64_t run = writer.create_run(train_run("status"));
    writer.set_status(run, RunStatus::kRunning);
    auto record = reader.find_run(run);
    ASSERT_TRUE(record && record->started_at);
    EXPECT_EQ(record->status, RunStatus::kRunning);
    EXPECT_FALSE(record->ended_at);
    const double started = *record->started_at;

    writer.set_status(run, RunStatus::kStopped);
    record = reader.find_run(run);
    ASSERT_TRUE(record->ended_at);
    EXPECT_GE(*record->ended_at, started);

    // Resuming: running again keeps the first start and clears the end.
    writer.set_status(run, RunStatus::kRunning);
    record = reader.find_run(run);
    EXPECT_DOUBLE_EQ(*record->started_at, started);
    EXPECT_FALSE(record->ended_at);
    writer.set_status(run, RunStatus::kDiverged);
    EXPECT_EQ(reader.find_run(run)->status, RunStatus::kDiverged);
    EXPECT_TRUE(reader.find_run(run)->ended_at);

    writer.set_summary(run, R"({"final":{"train/loss":1.5}})");
    writer.set_notes(run, "lr too high");
    writer.set_tags(run, "w4,sweep");
    writer.set_recipe(run, "{}");
    record = reader.find_run(run);
    EXPECT_EQ(record->summary_json, R"({"final":{"train/loss":1.5}})");
    EXPECT_EQ(record->notes, "lr too high");
    EXPECT_EQ(record->tags, "w4,sweep");
    EXPECT_EQ(record->recipe_json, "{}");
}

TEST(StoreRunWriterTest, UnknownRunIsBadInput) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    RunWriter writer(ws);
    try {
        writer.set_status(999, RunStatus::kRunning);
        FAIL() << "expected StoreError";
    } catch (const StoreError& error) {
        EXPECT_TRUE(error.is_bad_input());
        EXPECT_NE(std::string(error.what()).find("999"), std::string::npos);
    }
    // A row for a run that does not exist violates the foreign key (foreign_keys is ON).
    EXPECT_THROW(writer.add_event({0, 999, 1, 0, "x", ""}), StoreError);
}

TEST(StoreRunWriterTest, TruncateAfterRemovesLaterRowsOfThatRunOnly) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    RunWriter writer(ws, 3);
    const int64_t run = writer.create_run(train_run("resume"));
    const int64_t other = writer.create_run(train_run("other"));
    for (int step = 1; step <= 10; ++step) {
        writer.add_scalar(scalar(run, "train/loss", step, 10.0 - step));
        writer.add_scalar(scalar(other, "train/loss", step, 1.0));
        HistogramRecord h;
        h.run_id = run;
        h.step = step;
        h.layer = "l";
        h.tensor_kind = "weight";
        h.bin_scheme = "uniform";
        h.counts = {1, 2};
        writer.add_histogram(h);
        TensorStatsRecord q;
        q.run_id = run;
        q.step = step;
        q.layer = "l";
        q.tensor_kind = "weight";
        writer.add_tensor_stats(q);
        writer.add_event({0, run, step, 0, "step", ""});
        if (step % 5 == 0) {
            writer.add_checkpoint(
                {0, run, step, "checkpoint", "c" + std::to_string(step), 1, "", 0});
        }
    }
    writer.add_artifact({0, run, 10, "hf-export", "export", 1, "", 0});
    const int64_t max_row_before = RunReader(ws).scalars(run).back().row_id;
    writer.truncate_after(run, 6);

    RunReader reader(ws);
    const auto points = reader.scalars(run);
    ASSERT_EQ(points.size(), 6u);
    EXPECT_EQ(points.back().step, 6);
    EXPECT_EQ(reader.scalars(other).size(), 10u);
    EXPECT_EQ(reader.histograms(run, "l", "weight").size(), 6u);
    EXPECT_EQ(reader.tensor_stats(run).size(), 6u);
    EXPECT_EQ(reader.events(run).size(), 6u);
    ASSERT_EQ(reader.checkpoints(run).size(), 1u);
    EXPECT_EQ(reader.latest_checkpoint(run)->step, 5);
    EXPECT_EQ(reader.artifacts(run).size(), 1u);

    // Re-recorded rows get new, larger row ids, so a follower never misses them.
    writer.add_scalar(scalar(run, "train/loss", 7, 3.0));
    writer.flush();
    EXPECT_GT(reader.scalars(run).back().row_id, max_row_before);
}

TEST(StoreRunWriterTest, HistogramAndNanValuesRoundTrip) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    RunWriter writer(ws);
    const int64_t run = writer.create_run(train_run("hist"));
    HistogramRecord h;
    h.run_id = run;
    h.step = 3;
    h.layer = "blocks.3.attn.qkv";
    h.tensor_kind = "activation";
    h.bin_scheme = "log2";
    h.bin_lo = -8;
    h.bin_hi = 8;
    h.counts = {0, 1, -1, std::numeric_limits<int64_t>::max(), 1LL << 40};
    h.below = 4;
    h.above = 5;
    writer.add_histogram(h);
    TensorStatsRecord t;
    t.run_id = run;
    t.step = 3;
    t.layer = h.layer;
    t.tensor_kind = h.tensor_kind;
    t.quantizer = R"({"bits":8})";
    t.qn = -128;
    t.qp = 127;
    t.n = 99;
    t.min = -7.5;
    t.max = std::numeric_limits<double>::infinity();
    t.sum = std::nan("");
    t.sumsq = 12.25;
    t.nan_count = 1;
    t.inf_count = 2;
    t.zero_count = 3;
    t.clipped_low = 6;
    t.clipped_high = 7;
    writer.add_tensor_stats(t);
    TensorStatsRecord unquantized = t;
    unquantized.tensor_kind = "weight";
    unquantized.quantizer.reset();
    unquantized.qn.reset();
    unquantized.qp.reset();
    writer.add_tensor_stats(unquantized);
    writer.add_scalar(scalar(run, "train/loss", 3, std::nan("")));
    writer.flush();

    RunReader reader(ws);
    const auto read = reader.histograms(run, h.layer, h.tensor_kind, 3);
    ASSERT_EQ(read.size(), 1u);
    EXPECT_EQ(read[0].counts, h.counts);
    EXPECT_EQ(read[0].bin_scheme, "log2");
    EXPECT_EQ(read[0].below, 4);
    EXPECT_EQ(read[0].above, 5);
    const auto stats = reader.tensor_stats(run, h.layer, h.tensor_kind);
    ASSERT_EQ(stats.size(), 1u);
    EXPECT_EQ(stats[0].quantizer, R"({"bits":8})");
    EXPECT_EQ(stats[0].qn, -128);
    EXPECT_EQ(stats[0].qp, 127);
    EXPECT_EQ(stats[0].n, 99);
    EXPECT_EQ(stats[0].max, std::numeric_limits<double>::infinity());
    EXPECT_TRUE(std::isnan(stats[0].sum));
    EXPECT_EQ(stats[0].clipped_high, 7);
    const auto plain = reader.tensor_stats(run, h.layer, "weight");
    ASSERT_EQ(plain.size(), 1u);
    EXPECT_FALSE(plain[0].quantizer.has_value());
    EXPECT_FALSE(plain[0].qn.has_value());
    EXPECT_EQ(reader.tensor_stats(run, "", "", stats[0].row_id).size(), 1u);  // since that row
    EXPECT_TRUE(reader.histograms(run, h.layer, h.tensor_kind, 4).empty());
    EXPECT_TRUE(std::isnan(reader.scalars(run)[0].value));

    // The blob really is little-endian int64: byte 8 is the low byte of counts[1] == 1.
    RawDb raw(tmp.path() / "runs.sqlite", true);
    EXPECT_EQ(raw.query_text("SELECT hex(substr(counts, 9, 8)) FROM histograms"),
              "0100000000000000");
}

TEST(StoreRunWriterTest, DiskFullIsAnOperationalErrorAndKeepsTheBatch) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    RunWriter writer(ws, 1000000);
    const int64_t run = writer.create_run(train_run("full"));
    // Capping the file at its current size makes SQLite report SQLITE_FULL, as a full disk does.
    RawDb raw(tmp.path() / "runs.sqlite", true);
    const int64_t pages = raw.query_int("PRAGMA page_count");
    ASSERT_EQ(sqlite3_exec(ws.handle(),
                           ("PRAGMA max_page_count = " + std::to_string(pages)).c_str(),
                           nullptr,
                           nullptr,
                           nullptr),
              SQLITE_OK);
    for (int step = 0; step < 5000; ++step) {
        writer.add_scalar(scalar(run, "train/loss/with/a/long/key/name", step, 1.0));
    }
    try {
        writer.flush();
        FAIL() << "expected StoreError";
    } catch (const StoreError& error) {
        EXPECT_FALSE(error.is_bad_input());
        const std::string message = error.what();
        EXPECT_NE(message.find(ws.database_path().string()), std::string::npos) << message;
        EXPECT_NE(message.find("full"), std::string::npos) << message;
    }
    EXPECT_EQ(raw.query_int("SELECT count(*) FROM scalars"), 0);
    // Space again: the retained batch goes in whole.
    ASSERT_EQ(
        sqlite3_exec(ws.handle(), "PRAGMA max_page_count = 1000000", nullptr, nullptr, nullptr),
        SQLITE_OK);
    writer.flush();
    EXPECT_EQ(raw.query_int("SELECT count(*) FROM scalars"), 5000);
    EXPECT_EQ(raw.query_text("PRAGMA integrity_check"), "ok");
}

TEST(StoreRunWriterTest, DeletingARunCascades) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    int64_t run = 0;
    {
        RunWriter writer(ws);
        run = writer.create_run(train_run("gone"));
        writer.add_scalar(scalar(run, "lr", 1, 0.1));
        writer.add_event({0, run, 1, 0, "started", ""});
    }  // the destructor flushes
    EXPECT_EQ(count_rows(tmp.path(), "scalars"), 1);
    RawDb raw(tmp.path() / "runs.sqlite");
    raw.exec("PRAGMA foreign_keys = ON; DELETE FROM runs WHERE id = " + std::to_string(run));
    EXPECT_EQ(raw.query_int("SELECT count(*) FROM scalars"), 0);
    EXPECT_EQ(raw.query_int("SELECT count(*) FROM events"), 0);
}

// The child writes whole batches, leaves a partial one buffered and dies without flushing or
// running destructors. Only the committed batches may be found, in an intact file.
void crash_after_batches(const std::filesystem::path& root, bool sigkill) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        try {
            auto ws = Workspace::open(root);
            auto* writer = new RunWriter(ws, 10);  // leaked on purpose: no destructor may flush
            const int64_t run = writer->create_run(train_run("crash"));
            for (int step = 1; step <= 35; ++step) {
                writer->add_scalar(scalar(run, "train/loss", step, 1.0));
            }
            if (sigkill) {
                ::kill(::getpid(), SIGKILL);
            }
            ::_exit(0);
        } catch (...) {
            ::_exit(3);  // never return into the test runner inside the child
        }
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    if (sigkill) {
        ASSERT_TRUE(WIFSIGNALED(status));
    } else {
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
    }
}

TEST(StoreRunWriterTest, CrashKeepsOnlyCommittedBatches) {
    for (const bool sigkill : {false, true}) {
        TempDir tmp;
        crash_after_batches(tmp.path(), sigkill);
        auto ws = Workspace::open(tmp.path());
        RawDb raw(tmp.path() / "runs.sqlite");
        EXPECT_EQ(raw.query_text("PRAGMA integrity_check"), "ok");
        EXPECT_EQ(raw.query_int("SELECT count(*) FROM runs"), 1);
        EXPECT_EQ(raw.query_int("SELECT count(*) FROM scalars"), 30);
        EXPECT_EQ(raw.query_int("SELECT max(step) FROM scalars"), 30);
    }
}

// Block-AP rows (one per block and epoch): written at once, read back in block and epoch order,
// a NaN loss as NULL and back, rewound by truncate_after with the other rows; a finished-block
// file is a checkpoint row of kind "block" that is never the run's latest checkpoint.
TEST(StoreRunWriterTest, BlockApRowsRoundTripAndRewind) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    RunWriter writer(ws, 100);
    RunRecord qat_run = train_run("qat");
    qat_run.kind = "qat";
    const int64_t run = writer.create_run(qat_run);
    int64_t step = 0;
    for (int64_t block = 0; block < 3; ++block) {
        for (int epoch = 1; epoch <= 2; ++epoch) {
            step += 4;
            BlockApRecord row;
            row.run_id = run;
            row.step = step;
            row.block = block;
            row.epoch = epoch;
            row.train_loss = block == 1 && epoch == 2 ? std::nan("") : 0.25 * epoch + block;
            row.val_loss = 0.5 * epoch + block;
            row.quant_lr = 1e-4 / epoch;
            row.weight_lr = 1e-5 / epoch;
            row.seconds = 1.5;
            row.peak_memory_bytes = (int64_t{1} << 33) + block;  // above 32 bits
            row.wall_time = static_cast<double>(step);
            writer.add_block_ap(row);
        }
        writer.add_checkpoint({0, run, step, "block", "b" + std::to_string(block), 1, "", 0});
    }
    // Visible without a flush, like events and files.
    RunReader reader(ws);
    const std::vector<BlockApRecord> rows = reader.block_ap(run);
    ASSERT_EQ(rows.size(), 6U);
    EXPECT_EQ(rows[3].block, 1);
    EXPECT_EQ(rows[3].epoch, 2);
    EXPECT_TRUE(std::isnan(rows[3].train_loss));
    EXPECT_EQ(rows[4].train_loss, 2.25);
    EXPECT_EQ(rows[4].val_loss, 2.5);
    EXPECT_EQ(rows[1].quant_lr, 5e-5);
    EXPECT_EQ(rows[5].peak_memory_bytes, (int64_t{1} << 33) + 2);
    EXPECT_EQ(rows[5].step, 24);
    EXPECT_EQ(reader.block_ap(run, rows[1].row_id).size(), 4U);
    EXPECT_EQ(RawDb(tmp.path() / "runs.sqlite", true)
                  .query_int("SELECT count(*) FROM block_ap WHERE train_loss IS NULL"),
              1);
    EXPECT_FALSE(reader.latest_checkpoint(run)) << "block files are not resumable checkpoints";
    writer.add_checkpoint({0, run, 24, "packed_model", "model", 1, "", 0});
    EXPECT_EQ(reader.latest_checkpoint(run)->kind, "packed_model");

    writer.truncate_after(run, 8);  // keeps block 0 (steps 4 and 8)
    EXPECT_EQ(reader.block_ap(run).size(), 2U);
    EXPECT_EQ(reader.checkpoints(run).size(), 1U);
}

}  // namespace
}  // namespace lowbit::store
