// RunReader: run lookup by id and by name, listing order, scalar keys and summaries, and a
// read-only reader following a writer that is writing at the same time.
#include "lowbit/store/run_reader.h"

#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "store_test_util.h"

namespace lowbit::store {
namespace {

using test::TempDir;

RunRecord named_run(const std::string& name, double created_at) {
    RunRecord run;
    run.name = name;
    run.kind = "qat";
    run.created_at = created_at;
    run.parent_run_id = std::nullopt;
    return run;
}

TEST(StoreRunReaderTest, FindRunByIdOrNewestWithName) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    RunWriter writer(ws);
    const int64_t old_baseline = writer.create_run(named_run("baseline", 1000));
    const int64_t new_baseline = writer.create_run(named_run("baseline", 2000));
    RunRecord fork = named_run("12345", 3000);  // a name made of digits
    fork.parent_run_id = new_baseline;
    fork.fork_step = 500;
    const int64_t forked = writer.create_run(fork);

    RunReader reader(ws);
    EXPECT_EQ(reader.find_run("baseline")->id, new_baseline);
    EXPECT_EQ(reader.find_run(std::to_string(old_baseline))->id, old_baseline);
    EXPECT_EQ(reader.find_run(old_baseline)->name, "baseline");
    // No run has id 12345, so the digits are taken as a name.
    const auto by_digits = reader.find_run("12345");
    ASSERT_TRUE(by_digits);
    EXPECT_EQ(by_digits->id, forked);
    EXPECT_EQ(by_digits->parent_run_id, new_baseline);
    EXPECT_EQ(by_digits->fork_step, 500);
    EXPECT_EQ(by_digits->kind, "qat");
    EXPECT_FALSE(reader.find_run("missing"));
    EXPECT_FALSE(reader.find_run(int64_t{424242}));
    EXPECT_FALSE(reader.find_run(""));

    const auto runs = reader.list_runs();
    ASSERT_EQ(runs.size(), 3u);
    EXPECT_EQ(runs[0].id, forked);
    EXPECT_EQ(runs[2].id, old_baseline);
}

TEST(StoreRunReaderTest, ScalarKeysFiltersAndSummaries) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    RunWriter writer(ws);
    const int64_t run = writer.create_run(named_run("s", 0));
    const double losses[] = {3.0, 2.0, 2.5, std::nan("")};
    for (int step = 0; step < 4; ++step) {
        writer.add_scalar({0, run, "train/loss", step * 10, 0, 0, losses[step]});
        writer.add_scalar({0, run, "lr", step * 10, 0, 0, 0.1 * (step + 1)});
    }
    writer.add_scalar({0, run, "val/ppl", 30, 0, 0, std::nan("")});
    writer.flush();

    RunReader reader(ws);
    EXPECT_EQ(reader.scalar_keys(run), (std::vector<std::string>{"lr", "train/loss", "val/ppl"}));
    const auto lr = reader.scalars(run, "lr");
    ASSERT_EQ(lr.size(), 4u);
    EXPECT_DOUBLE_EQ(lr[3].value, 0.4);
    EXPECT_EQ(lr[3].key, "lr");

    const auto summaries = reader.scalar_summaries(run);
    ASSERT_EQ(summaries.size(), 3u);
    EXPECT_EQ(summaries[0].key, "lr");
    EXPECT_EQ(summaries[0].count, 4);
    EXPECT_DOUBLE_EQ(summaries[0].last_value, 0.4);
    EXPECT_EQ(summaries[1].key, "train/loss");
    EXPECT_EQ(summaries[1].last_step, 30);
    EXPECT_TRUE(std::isnan(summaries[1].last_value));
    ASSERT_TRUE(summaries[1].min_step);
    EXPECT_EQ(*summaries[1].min_step, 10);
    EXPECT_DOUBLE_EQ(summaries[1].min_value, 2.0);
    EXPECT_FALSE(summaries[2].min_step);  // only NaN

    // A resumed run writes a step again: the later row of the last step is the last value, and
    // both rows count.
    writer.add_scalar({0, run, "lr", 30, 0, 0, 0.7});
    writer.flush();
    const auto rewritten = reader.scalar_summaries(run);
    EXPECT_EQ(rewritten[0].count, 5);
    EXPECT_EQ(rewritten[0].last_step, 30);
    EXPECT_DOUBLE_EQ(rewritten[0].last_value, 0.7);
}

TEST(StoreRunReaderTest, ReadOnlyReaderFollowsAConcurrentWriter) {
    TempDir tmp;
    constexpr int kBatches = 40;
    constexpr int kBatchRows = 25;
    int64_t run = 0;
    {
        auto ws = Workspace::open(tmp.path());
        run = RunWriter(ws).create_run(named_run("live", 0));
    }
    std::atomic<bool> done{false};
    std::atomic<bool> writer_failed{false};
    // One connection per thread, as in the engine: the writer thread owns its Workspace.
    std::thread writer_thread([&] {
        try {
            auto ws = Workspace::open(tmp.path());
            RunWriter writer(ws, kBatchRows);
            for (int i = 0; i < kBatches * kBatchRows; ++i) {
                writer.add_scalar({0, run, "train/loss", i, i * 8, 0.01 * i, 1.0 / (1 + i)});
                if (i % 100 == 0) {
                    writer.add_event({0, run, i, 0, "tick", ""});
                }
            }
        } catch (const std::exception&) {
            writer_failed = true;
        }
        done = true;
    });

    auto ws = Workspace::open(tmp.path(), OpenMode::kReadOnly);
    RunReader reader(ws);
    int64_t since = 0;
    int64_t seen = 0;
    int64_t expected_step = 0;
    int polls = 0;
    bool finished = false;
    while (!finished) {
        finished = done.load();  // read once more after the writer finished
        for (const auto& point : reader.scalars(run, "train/loss", since)) {
            // Incremental reads see every row exactly once, in order.
            EXPECT_EQ(point.step, expected_step);
            ++expected_step;
            since = point.row_id;
            ++seen;
        }
        ++polls;
    }
    writer_thread.join();
    EXPECT_FALSE(writer_failed);
    EXPECT_EQ(seen, kBatches * kBatchRows);
    EXPECT_EQ(reader.events(run).size(), 10u);
    EXPECT_GT(polls, 1);
}

}  // namespace
}  // namespace lowbit::store
