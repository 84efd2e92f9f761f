// Workspace::open: migrations, idempotent reopen, moves (the moved-to workspace reads and writes,
// the moved-from one is inert), refusal of foreign / non-SQLite / newer databases without
// touching them, unwritable folders, read-only mode and default_root(); opening a workspace a
// second time keeps the locks the first connection holds.
#include "lowbit/store/workspace.h"

#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_writer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "store_test_util.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lowbit::store {
namespace {

using test::RawDb;
using test::TempDir;

// Runs `open` expecting a StoreError; returns it for the caller's checks.
template <typename Fn>
StoreError expect_store_error(Fn&& open) {
    try {
        open();
    } catch (const StoreError& error) {
        return error;
    }
    ADD_FAILURE() << "expected a StoreError";
    return StoreError("no error", false);
}

TEST(StoreWorkspaceTest, CreatesFolderAndAppliesMigrationsFromEmpty) {
    TempDir tmp;
    const auto root = tmp.path() / "nested" / "ws";
    {
        auto ws = Workspace::open(root);
        EXPECT_EQ(ws.root(), root);
        EXPECT_EQ(ws.database_path(), root / "runs.sqlite");
        EXPECT_EQ(ws.run_dir(7), root / "runs" / "7");
        EXPECT_GE(Workspace::latest_schema_version(), 1);
        EXPECT_EQ(ws.schema_version(), Workspace::latest_schema_version());
        EXPECT_TRUE(std::filesystem::is_directory(root / "runs"));
    }
    RawDb raw(root / "runs.sqlite");
    EXPECT_EQ(raw.query_int("PRAGMA application_id"), kWorkspaceApplicationId);
    EXPECT_EQ(raw.query_int("PRAGMA user_version"), Workspace::latest_schema_version());
    EXPECT_EQ(raw.query_text("PRAGMA journal_mode"), "wal");
    for (const char* table : {"runs",
                              "scalars",
                              "histograms",
                              "tensor_stats",
                              "block_ap",
                              "events",
                              "checkpoints",
                              "artifacts"}) {
        EXPECT_EQ(raw.query_int(std::string("SELECT count(*) FROM sqlite_master WHERE type = "
                                            "'table' AND name = '") +
                                table + "'"),
                  1)
            << table;
    }
    EXPECT_EQ(raw.query_int("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                            "name = 'scalars_by_key'"),
              1);
}

TEST(StoreWorkspaceTest, ReopenIsIdempotent) {
    TempDir tmp;
    Workspace::open(tmp.path());
    RawDb(tmp.path() / "runs.sqlite").exec("INSERT INTO runs (name, created_at) VALUES ('a', 1)");
    const std::string schema_before =
        RawDb(tmp.path() / "runs.sqlite")
            .query_text("SELECT group_concat(sql, ';') FROM sqlite_master");
    for (int i = 0; i < 3; ++i) {
        auto ws = Workspace::open(tmp.path());
        EXPECT_EQ(ws.schema_version(), Workspace::latest_schema_version());
    }
    RawDb raw(tmp.path() / "runs.sqlite");
    EXPECT_EQ(raw.query_text("SELECT group_concat(sql, ';') FROM sqlite_master"), schema_before);
    EXPECT_EQ(raw.query_int("SELECT count(*) FROM runs"), 1);
}

TEST(StoreWorkspaceTest, MovedWorkspaceKeepsWorking) {
    TempDir tmp;
    const auto root_a = tmp.path() / "a";
    std::optional<Workspace> moved;
    {
        auto ws = Workspace::open(root_a);
        moved.emplace(std::move(ws));
        // `ws` is destroyed here: a moved-from workspace must not close the connection it gave
        // away (the writes below would then fail with SQLITE_MISUSE or crash).
    }
    EXPECT_EQ(moved->root(), root_a);
    EXPECT_EQ(moved->database_path(), root_a / "runs.sqlite");
    EXPECT_EQ(moved->schema_version(), Workspace::latest_schema_version());
    int64_t run_id = 0;
    {
        // Write and read back through the moved-to workspace's own connection.
        RunWriter writer(*moved);
        RunRecord run;
        run.name = "after-move";
        run.kind = "train";
        run_id = writer.create_run(run);
        writer.set_notes(run_id, "written through the moved workspace");
    }
    EXPECT_TRUE(std::filesystem::is_directory(moved->run_dir(run_id)));
    const auto found = RunReader(*moved).find_run(run_id);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->name, "after-move");
    EXPECT_EQ(found->notes, "written through the moved workspace");
    // And it really is in a's file, as an independent connection sees it.
    EXPECT_EQ(RawDb(root_a / "runs.sqlite")
                  .query_text("SELECT notes FROM runs WHERE name = 'after-move'"),
              "written through the moved workspace");

    // Move assignment: the target drops its own workspace (b's connection is closed, so b's WAL
    // file goes away, as SQLite removes it when the last connection closes) and takes a's.
    const auto root_b = tmp.path() / "b";
    auto target = Workspace::open(root_b);
    {
        RunWriter writer(target);
        RunRecord run;
        run.name = "in-b";
        run.kind = "train";
        writer.create_run(run);
    }
    ASSERT_TRUE(std::filesystem::exists(root_b / "runs.sqlite-wal"));
    target = std::move(*moved);
    moved.reset();  // destroying the moved-from one leaves the target's connection open
    EXPECT_FALSE(std::filesystem::exists(root_b / "runs.sqlite-wal"));
    EXPECT_EQ(target.root(), root_a);
    {
        RunWriter writer(target);
        RunRecord run;
        run.name = "after-assignment";
        run.kind = "train";
        writer.create_run(run);
    }
    const RunReader reader(target);
    std::vector<std::string> names;
    for (const RunRecord& r : reader.list_runs()) {
        names.push_back(r.name);
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"after-assignment", "after-move"}));
    EXPECT_EQ(RawDb(root_b / "runs.sqlite").query_int("SELECT count(*) FROM runs"), 1);

    // A moved-from workspace is inert but reusable: assigning a fresh one to it works.
    auto reused = Workspace::open(tmp.path() / "c");
    Workspace sink = std::move(reused);
    reused = Workspace::open(root_b);
    EXPECT_EQ(reused.root(), root_b);
    EXPECT_EQ(RunReader(reused).list_runs().size(), 1u);
    EXPECT_EQ(sink.root(), tmp.path() / "c");
}

TEST(StoreWorkspaceTest, ForeignApplicationIdIsRefusedAndUntouched) {
    TempDir tmp;
    const auto file = tmp.path() / "runs.sqlite";
    {
        RawDb raw(file);
        raw.exec("PRAGMA application_id = 1234; CREATE TABLE songs (id INTEGER, title TEXT);");
    }
    const auto before = test::read_bytes(file);
    const auto error = expect_store_error([&] { Workspace::open(tmp.path()); });
    EXPECT_TRUE(error.is_bad_input());
    EXPECT_NE(std::string(error.what()).find(file.string()), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("not a Lowbit workspace database"), std::string::npos)
        << error.what();
    EXPECT_EQ(test::read_bytes(file), before);
    EXPECT_EQ(RawDb(file).query_text("PRAGMA journal_mode"), "delete");
}

TEST(StoreWorkspaceTest, SqliteFileWithoutApplicationIdButWithTablesIsRefused) {
    TempDir tmp;
    RawDb(tmp.path() / "runs.sqlite").exec("CREATE TABLE other (x)");
    const auto error = expect_store_error([&] { Workspace::open(tmp.path()); });
    EXPECT_TRUE(error.is_bad_input());
    EXPECT_NE(std::string(error.what()).find("not a Lowbit workspace database"), std::string::npos);
}

TEST(StoreWorkspaceTest, RandomBytesFileIsRefusedWithPathAndLeftUnchanged) {
    TempDir tmp;
    const auto file = tmp.path() / "runs.sqlite";
    std::mt19937 rng(42);
    std::vector<char> bytes(8192);
    for (auto& b : bytes) {
        b = static_cast<char>(rng() & 0xff);
    }
    test::write_bytes(file, bytes);
    for (const auto mode : {OpenMode::kReadWrite, OpenMode::kReadOnly}) {
        const auto error = expect_store_error([&] { Workspace::open(tmp.path(), mode); });
        EXPECT_TRUE(error.is_bad_input());
        const std::string message = error.what();
        EXPECT_NE(message.find(file.string()), std::string::npos) << message;
        EXPECT_NE(message.find("not a Lowbit workspace database"), std::string::npos) << message;
    }
    EXPECT_EQ(test::read_bytes(file), bytes);
    EXPECT_FALSE(std::filesystem::exists(tmp.path() / "runs.sqlite-wal"));
    EXPECT_FALSE(std::filesystem::exists(tmp.path() / "runs.sqlite-shm"));
}

TEST(StoreWorkspaceTest, ShortGarbageFileIsRefused) {
    TempDir tmp;
    test::write_bytes(tmp.path() / "runs.sqlite", {'h', 'e', 'l', 'l', 'o'});
    const auto error = expect_store_error([&] { Workspace::open(tmp.path()); });
    EXPECT_TRUE(error.is_bad_input());
    EXPECT_EQ(test::read_bytes(tmp.path() / "runs.sqlite").size(), 5u);
}

TEST(StoreWorkspaceTest, NewerSchemaVersionIsRefusedNamingBothVersions) {
    TempDir tmp;
    Workspace::open(tmp.path());
    const int newer = Workspace::latest_schema_version() + 41;
    RawDb(tmp.path() / "runs.sqlite").exec("PRAGMA user_version = " + std::to_string(newer));
    for (const auto mode : {OpenMode::kReadWrite, OpenMode::kReadOnly}) {
        const auto error = expect_store_error([&] { Workspace::open(tmp.path(), mode); });
        EXPECT_TRUE(error.is_bad_input());
        const std::string message = error.what();
        EXPECT_NE(message.find("schema version " + std::to_string(newer)), std::string::npos)
            << message;
        EXPECT_NE(message.find("up to " + std::to_string(Workspace::latest_schema_version())),
                  std::string::npos)
            << message;
    }
    EXPECT_EQ(RawDb(tmp.path() / "runs.sqlite").query_int("PRAGMA user_version"), newer);
}

TEST(StoreWorkspaceTest, UncreatableFolderUnderARegularFileIsBadInput) {
    // Works as root too: mkdir under a regular file fails with ENOTDIR whatever the privileges.
    TempDir tmp;
    const auto blocker = tmp.path() / "plain-file";
    test::write_bytes(blocker, {'x'});
    const auto root = blocker / "ws";
    const auto error = expect_store_error([&] { Workspace::open(root); });
    EXPECT_TRUE(error.is_bad_input());
    const std::string message = error.what();
    EXPECT_NE(message.find(root.string()), std::string::npos) << message;
    EXPECT_NE(message.find("Not a directory"), std::string::npos) << message;
}

TEST(StoreWorkspaceTest, UnwritableParentFolderIsBadInput) {
    TempDir tmp;
    const auto parent = tmp.path() / "locked";
    std::filesystem::create_directory(parent);
    ASSERT_EQ(::chmod(parent.c_str(), 0500), 0);
    if (::access(parent.c_str(), W_OK) == 0) {
        // Root ignores the mode bits; /proc refuses mkdir for everybody.
        const auto root = std::filesystem::path("/proc/lowbit-store-test/ws");
        const auto error = expect_store_error([&] { Workspace::open(root); });
        EXPECT_TRUE(error.is_bad_input());
        EXPECT_NE(std::string(error.what()).find(root.string()), std::string::npos);
        return;
    }
    const auto root = parent / "ws";
    const auto error = expect_store_error([&] { Workspace::open(root); });
    EXPECT_TRUE(error.is_bad_input());
    const std::string message = error.what();
    EXPECT_NE(message.find(root.string()), std::string::npos) << message;
    EXPECT_NE(message.find("Permission denied"), std::string::npos) << message;
}

TEST(StoreWorkspaceTest, ReadOnlyOpenOfMissingDatabaseIsBadInputAndCreatesNothing) {
    TempDir tmp;
    const auto root = tmp.path() / "absent";
    const auto error = expect_store_error([&] { Workspace::open(root, OpenMode::kReadOnly); });
    EXPECT_TRUE(error.is_bad_input());
    EXPECT_NE(std::string(error.what()).find((root / "runs.sqlite").string()), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(root));
}

TEST(StoreWorkspaceTest, ReadOnlyConnectionCannotWrite) {
    TempDir tmp;
    Workspace::open(tmp.path());
    auto ws = Workspace::open(tmp.path(), OpenMode::kReadOnly);
    EXPECT_EQ(ws.schema_version(), Workspace::latest_schema_version());
    // Through the library's own handle: the connection itself must refuse writes.
    const int rc = sqlite3_exec(
        ws.handle(), "INSERT INTO runs (created_at) VALUES (1)", nullptr, nullptr, nullptr);
    EXPECT_EQ(rc & 0xff, SQLITE_READONLY);
}

// Whether another process sees a lock on the shared-lock bytes of `database` (the byte range the
// SQLite documentation's file format gives: 510 bytes from 0x40000002). Asked from a child
// process: POSIX locks of this process are invisible to itself.
bool another_process_sees_a_shared_lock(const std::filesystem::path& database) {
    const pid_t child = fork();
    if (child == 0) {
        const int fd = ::open(database.c_str(), O_RDONLY);
        struct flock probe = {};
        probe.l_type = F_WRLCK;
        probe.l_whence = SEEK_SET;
        probe.l_start = 0x40000002;
        probe.l_len = 510;
        const bool locked = fd >= 0 && fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
        _exit(locked ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(StoreWorkspaceTest, OpeningASecondTimeKeepsTheFirstConnectionsLocks) {
    // A connection in WAL mode holds a shared lock on the database for its whole life; that is
    // how an engine closing its own connection knows it is not the last one, and must leave the
    // WAL in place. Closing any other descriptor of the file in this process would drop it.
    TempDir tmp;
    Workspace first = Workspace::open(tmp.path());
    RunRecord kept;
    kept.name = "kept";
    kept.kind = "train";
    RunWriter(first).create_run(kept);
    const RunReader reader(first);
    ASSERT_EQ(reader.list_runs().size(), 1u);
    ASSERT_TRUE(another_process_sees_a_shared_lock(first.database_path()));
    for (const OpenMode mode : {OpenMode::kReadWrite, OpenMode::kReadOnly}) {
        { Workspace second = Workspace::open(tmp.path(), mode); }
        EXPECT_TRUE(another_process_sees_a_shared_lock(first.database_path()))
            << "the first connection lost its lock when a "
            << (mode == OpenMode::kReadWrite ? "read-write" : "read-only")
            << " open of the same workspace came and went";
    }
    EXPECT_EQ(reader.list_runs().size(), 1u);
}

TEST(StoreWorkspaceTest, DefaultRootHonoursXdgDataHome) {
    const char* old_xdg = std::getenv("XDG_DATA_HOME");
    const std::string saved = old_xdg != nullptr ? old_xdg : "";
    ::setenv("XDG_DATA_HOME", "/data/xdg", 1);
    EXPECT_EQ(Workspace::default_root(), std::filesystem::path("/data/xdg/lowbit/workspace"));
    const char* home = std::getenv("HOME");
    if (home != nullptr) {
        const auto expected = std::filesystem::path(home) / ".local/share/lowbit/workspace";
        ::setenv("XDG_DATA_HOME", "relative/ignored", 1);  // the XDG spec says: ignore it
        EXPECT_EQ(Workspace::default_root(), expected);
        ::unsetenv("XDG_DATA_HOME");
        EXPECT_EQ(Workspace::default_root(), expected);
    }
    ::unsetenv("XDG_DATA_HOME");
    if (old_xdg != nullptr) {
        ::setenv("XDG_DATA_HOME", saved.c_str(), 1);
    }
}

}  // namespace
}  // namespace lowbit::store
