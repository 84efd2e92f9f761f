// Workspace: a folder holding runs.sqlite (the run database) and runs/<run-id>/ (checkpoints,
// exports). Opening validates that the database really is a Lowbit workspace (SQLite
// application_id) and applies pending numbered migrations; a newer schema is refused.
// Thread-safety: one Workspace (one SQLite connection) per thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

struct sqlite3;

namespace lowbit::store {

// Every store failure: names the database file and what went wrong. `is_bad_input()` tells the
// CLI whether to exit with 2 (not a workspace, newer schema, unwritable folder) or 1 (I/O failure).
class StoreError : public std::runtime_error {
public:
    StoreError(const std::string& message, bool bad_input)
        : std::runtime_error(message), bad_input_(bad_input) {}

    bool is_bad_input() const {
        return bad_input_;
    }

private:
    bool bad_input_;
};

enum class OpenMode { kReadWrite, kReadOnly };

// PRAGMA application_id of every Lowbit workspace database: "LOWB" in ASCII.
inline constexpr int32_t kWorkspaceApplicationId = 0x4C4F5742;

class Workspace {
public:
    // Opens (and with kReadWrite creates) the workspace folder `root`. Throws StoreError.
    static Workspace open(const std::filesystem::path& root, OpenMode mode = OpenMode::kReadWrite);
    // ~/.local/share/lowbit/workspace, honouring $XDG_DATA_HOME.
    static std::filesystem::path default_root();
    // The newest schema version this build creates and reads (the last embedded migration).
    static int latest_schema_version();

    Workspace(Workspace&&) noexcept;
    Workspace& operator=(Workspace&&) noexcept;
    ~Workspace();

    const std::filesystem::path& root() const;
    std::filesystem::path database_path() const;          // root/runs.sqlite
    std::filesystem::path run_dir(int64_t run_id) const;  // root/runs/<run-id>/ (not created)
    int schema_version() const;
    sqlite3* handle() const;  // for RunWriter / RunReader in this library only

private:
    struct Impl;
    explicit Workspace(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace lowbit::store
