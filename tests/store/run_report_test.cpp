// Run reports: the wide scalar CSV, run_details_json, its text rendering and the run table.
#include "lowbit/store/run_report.h"

#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "store_test_util.h"

namespace lowbit::store {
namespace {

using test::TempDir;

// A finished run: losses at steps 0, 10, 20, val/loss at 10 and 20, lr at 0 only, a checkpoint,
// an artifact and three events. Its final and best values (train/loss 2.5 at 20, val/loss 3.5
// final, 3.25 best at 10) exist only in the scalars.
int64_t record_run(Workspace& ws) {
    RunWriter writer(ws);
    RunRecord record;
    record.name = "w4g128";
    record.kind = "train";
    record.recipe_json = R"({"model":{"family":"gpt2","layers":2},"optim":{"lr":0.001}})";
    record.host = "gpu-node-1";
    const int64_t run = writer.create_run(record);
    writer.set_status(run, RunStatus::kRunning);
    writer.add_scalar({0, run, "train/loss", 0, 0, 0.0, 4.0});
    writer.add_scalar({0, run, "lr", 0, 0, 0.0, 0.001});
    writer.add_scalar({0, run, "train/loss", 10, 5120, 1.5, 3.0});
    writer.add_scalar({0, run, "val/loss", 10, 5120, 1.75, 3.25});
    writer.add_scalar({0, run, "train/loss", 20, 10240, 3.0, 2.5});
    writer.add_scalar({0, run, "val/loss", 20, 10240, 3.25, 3.5});
    writer.add_event({0, run, 0, 0, "started", ""});
    writer.add_event({0, run, 10, 0, "eval", ""});
    writer.add_checkpoint({0, run, 20, "checkpoint", "runs/1/ckpt-20", 2048, "ab12", 0});
    writer.add_artifact({0, run, 20, "hf-export", "runs/1/hf", 4096, "cd34", 0});
    writer.add_event({0, run, 20, 0, "completed", ""});
    writer.set_summary(run, R"({"parameters":1234})");
    writer.set_status(run, RunStatus::kCompleted);
    return run;
}

TEST(StoreRunReportTest, ScalarsCsvIsWideWithEmptyCells) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    const int64_t run = record_run(ws);
    std::ostringstream csv;
    write_scalars_csv(RunReader(ws), run, csv);
    EXPECT_EQ(csv.str(),
              "step,tokens,wall_time,lr,train/loss,val/loss\n"
              "0,0,0,0.001,4,\n"
              "10,5120,1.75,,3,3.25\n"
              "20,10240,3.25,,2.5,3.5\n");
}

TEST(StoreRunReportTest, ScalarsCsvOfARunWithoutScalarsHasOnlyTheHeader) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    const int64_t run = RunWriter(ws).create_run({});
    std::ostringstream csv;
    write_scalars_csv(RunReader(ws), run, csv);
    EXPECT_EQ(csv.str(), "step,tokens,wall_time\n");
}

TEST(StoreRunReportTest, ScalarsCsvQuotesOddKeysAndWritesNan) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    RunWriter writer(ws);
    const int64_t run = writer.create_run({});
    writer.add_scalar({0, run, "a,b", 1, 0, 0, std::nan("")});
    writer.add_scalar({0, run, "x", 1, 0, 0, 0.1});
    writer.flush();
    std::ostringstream csv;
    write_scalars_csv(RunReader(ws), run, csv);
    EXPECT_EQ(csv.str(), "step,tokens,wall_time,\"a,b\",x\n1,0,0,nan,0.1\n");
}

TEST(StoreRunReportTest, DetailsJsonHasEverything) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    const int64_t run = record_run(ws);
    RunReader reader(ws);
    const auto details = run_details_json(reader, *reader.find_run(run));

    EXPECT_EQ(details["id"], run);
    EXPECT_EQ(details["name"], "w4g128");
    EXPECT_EQ(details["status"], "completed");
    EXPECT_EQ(details["host"], "gpu-node-1");
    EXPECT_TRUE(details["started_at"].is_number());
    EXPECT_TRUE(details["ended_at"].is_number());
    EXPECT_GE(details["duration_seconds"].get<double>(), 0.0);
    EXPECT_EQ(details["recipe"]["model"]["family"], "gpt2");
    EXPECT_EQ(details["recipe"]["optim"]["lr"], 0.001);
    EXPECT_EQ(details["summary"]["parameters"], 1234);
    EXPECT_TRUE(details["diverged_at_step"].is_null());

    EXPECT_EQ(details["final"].size(), 3u);
    EXPECT_EQ(details["final"]["train/loss"]["value"], 2.5);
    EXPECT_EQ(details["final"]["train/loss"]["step"], 20);
    EXPECT_EQ(details["final"]["val/loss"]["value"], 3.5);
    EXPECT_EQ(details["final"]["lr"]["value"], 0.001);
    // Best values only for loss / ppl keys; lr is not minimised.
    EXPECT_EQ(details["best"].size(), 2u);
    EXPECT_EQ(details["best"]["val/loss"]["value"], 3.25);
    EXPECT_EQ(details["best"]["val/loss"]["step"], 10);
    EXPECT_EQ(details["best"]["train/loss"]["value"], 2.5);
    EXPECT_FALSE(details["best"].contains("lr"));

    ASSERT_EQ(details["checkpoints"].size(), 1u);
    EXPECT_EQ(details["checkpoints"][0]["step"], 20);
    EXPECT_EQ(details["checkpoints"][0]["path"], "runs/1/ckpt-20");
    EXPECT_EQ(details["checkpoints"][0]["bytes"], 2048);
    EXPECT_EQ(details["checkpoints"][0]["sha256"], "ab12");
    ASSERT_EQ(details["artifacts"].size(), 1u);
    EXPECT_EQ(details["artifacts"][0]["kind"], "hf-export");
    EXPECT_EQ(details["event_count"], 3);
}

TEST(StoreRunReportTest, DetailsJsonKeepsUnparsableRecipeAsText) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    RunRecord record;
    record.recipe_json = "not json {";
    const int64_t run = RunWriter(ws).create_run(record);
    RunReader reader(ws);
    const auto details = run_details_json(reader, *reader.find_run(run));
    EXPECT_EQ(details["recipe"], "not json {");
    EXPECT_TRUE(details["started_at"].is_null());
    EXPECT_TRUE(details["duration_seconds"].is_null());
    EXPECT_TRUE(details["final"].empty());
    EXPECT_EQ(details["event_count"], 0);
}

TEST(StoreRunReportTest, DetailsTextNamesTheImportantParts) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    const int64_t run = record_run(ws);
    RunReader reader(ws);
    const std::string text = format_run_details(run_details_json(reader, *reader.find_run(run)));
    for (const std::string& expected :
         {"Run " + std::to_string(run) + "  w4g128  (train, completed)",
          std::string("Final values:"),
          std::string("train/loss"),
          std::string("Best values:"),
          std::string("3.25  (step 10)"),
          std::string("step 20  runs/1/ckpt-20  2.0 KiB  sha256 ab12"),
          std::string("Events: 3"),
          std::string("\"family\": \"gpt2\"")}) {
        EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n---\n" << text;
    }
    // Robust to a sparse object (e.g. JSON from an older lowbit).
    EXPECT_NE(format_run_details(nlohmann::json::object()).find("Events: 0"), std::string::npos);
}

TEST(StoreRunReportTest, RunTableIsAligned) {
    TempDir tmp;
    auto ws = Workspace::open(tmp.path());
    record_run(ws);
    RunRecord plain;
    plain.name = "a-much-longer-run-name";
    plain.kind = "eval";
    RunWriter(ws).create_run(plain);
    const RunReader reader(ws);
    const std::string table = format_run_table(reader, reader.list_runs());

    std::vector<std::string> lines;
    std::istringstream in(table);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    ASSERT_EQ(lines.size(), 3u) << table;
    EXPECT_EQ(lines[0].rfind("ID", 0), 0u) << table;
    for (const char* header : {"NAME", "KIND", "STATUS", "CREATED", "TRAIN LOSS", "VAL LOSS"}) {
        EXPECT_NE(lines[0].find(header), std::string::npos) << header;
    }
    // Columns line up: every row has its status where the header has STATUS.
    const size_t status_column = lines[0].find("STATUS");
    EXPECT_EQ(lines[1].find("created"), status_column) << table;  // newest first
    EXPECT_EQ(lines[2].find("completed"), status_column) << table;
    EXPECT_NE(lines[2].find("2.5000"), std::string::npos) << table;
    EXPECT_NE(lines[2].find("3.2500"), std::string::npos) << table;
    EXPECT_NE(lines[1].find(" -"), std::string::npos) << table;
    // The creation time is local "YYYY-MM-DD HH:MM".
    const auto created = format_local_time(RunReader(ws).list_runs()[1].created_at);
    EXPECT_EQ(created.size(), 16u);
    EXPECT_NE(lines[2].find(created), std::string::npos) << table;
}

}  // namespace
}  // namespace lowbit::store
