// Run annotations written by the studio: each edit reaches exactly its column of exactly its run
// (read back with a raw connection), and an unknown run is refused without changing anything.
#include "lowbit/store/run_annotations.h"

#include "lowbit/store/run_writer.h"

#include <gtest/gtest.h>

#include "store_test_util.h"

namespace lowbit::store {
namespace {

TEST(RunAnnotations, EachFieldReachesItsColumnOfItsRunOnly) {
    test::TempDir dir;
    int64_t first = 0;
    int64_t second = 0;
    {
        Workspace ws = Workspace::open(dir.path());
        RunWriter writer(ws);
        RunRecord run;
        run.name = "a";
        run.kind = "train";
        run.tags = "old";
        first = writer.create_run(run);
        run.name = "b";
        second = writer.create_run(run);
    }
    Workspace ws = Workspace::open(dir.path());
    set_run_annotation(ws, first, RunAnnotation::kTags, "w8, baseline");
    set_run_annotation(ws, first, RunAnnotation::kNotes, "lr too high?\nsecond line");
    set_run_annotation(ws, first, RunAnnotation::kGroup, "sweep-1");

    test::RawDb raw(ws.database_path(), true);
    const std::string id = std::to_string(first);
    EXPECT_EQ(raw.query_text("SELECT tags FROM runs WHERE id = " + id), "w8, baseline");
    EXPECT_EQ(raw.query_text("SELECT notes FROM runs WHERE id = " + id),
              "lr too high?\nsecond line");
    EXPECT_EQ(raw.query_text("SELECT group_name FROM runs WHERE id = " + id), "sweep-1");
    EXPECT_EQ(raw.query_text("SELECT name FROM runs WHERE id = " + id), "a");
    const std::string other = std::to_string(second);
    EXPECT_EQ(raw.query_text("SELECT tags FROM runs WHERE id = " + other), "old");
    EXPECT_EQ(raw.query_text("SELECT notes FROM runs WHERE id = " + other), "");
}

TEST(RunAnnotations, UnknownRunIsBadInputNamingTheRun) {
    test::TempDir dir;
    Workspace ws = Workspace::open(dir.path());
    try {
        set_run_annotation(ws, 42, RunAnnotation::kNotes, "x");
        FAIL() << "expected StoreError";
    } catch (const StoreError& error) {
        EXPECT_TRUE(error.is_bad_input());
        EXPECT_NE(std::string(error.what()).find("notes of run 42"), std::string::npos)
            << error.what();
    }
}

}  // namespace
}  // namespace lowbit::store
