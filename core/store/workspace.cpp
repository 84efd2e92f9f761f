// Workspace: opens the folder and its runs.sqlite, checks that the file is a Lowbit database,
// applies migrations and sets the connection up for one writer and many readers (WAL).
#include "lowbit/store/workspace.h"

#include <sqlite3.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <system_error>

#include "migrate.h"
#include "sqlite_error.h"
#include "statement.h"
#include <unistd.h>

namespace lowbit::store {

namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr char kDatabaseFile[] = "runs.sqlite";
constexpr char kSqliteMagic[] = "SQLite format 3";  // 16 bytes with its terminating NUL

[[noreturn]] void throw_not_lowbit(const std::filesystem::path& file, const std::string& why) {
    throw StoreError(file.string() + " is not a Lowbit workspace database (" + why + ")", true);
}

std::string hex32(int64_t value) {
    std::ostringstream out;
    out << "0x" << std::hex << (static_cast<uint64_t>(value) & 0xffffffffu);
    return out.str();
}

// Creates root/ and root/runs/ and checks that root is writable, so a bad folder is reported
// with the OS reason instead of SQLite's vaguer "unable to open database file".
void prepare_folder(const std::filesystem::path& root) {
    std::error_code error;
    std::filesystem::create_directories(root / "runs", error);
    if (error) {
        throw StoreError("cannot create workspace folder " + root.string() + ": " + error.message(),
                         true);
    }
    if (::access(root.c_str(), W_OK) != 0) {
        throw StoreError(
            "workspace folder " + root.string() + " is not writable: " + std::strerror(errno),
            true);
    }
}

// Reads the 16-byte header before SQLite reads the file as a database: SQLite takes a short
// foreign file for an empty database, and we must never write a byte (WAL switch, schema) into
// somebody else's file. The header is read through the connection's own file handle: opening and
// closing a second descriptor on the file would drop every POSIX lock this process holds on it,
// those of its other connections included, and another process could then delete the WAL under
// them (a "database disk image is malformed" on their next read).
void check_sqlite_header(sqlite3* db, const std::filesystem::path& file) {
    std::error_code error;
    const auto size = std::filesystem::file_size(file, error);
    if (error || size == 0) {
        return;  // missing or empty: SQLite creates / initialises it
    }
    sqlite3_file* handle = nullptr;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &handle) != SQLITE_OK ||
        handle == nullptr || handle->pMethods == nullptr) {
        throw StoreError("cannot read " + file.string() + ": SQLite gave no file handle", true);
    }
    char header[sizeof(kSqliteMagic)] = {};
    const int rc = handle->pMethods->xRead(handle, header, sizeof(header), 0);
    if (rc == SQLITE_IOERR_SHORT_READ ||
        (rc == SQLITE_OK && std::memcmp(header, kSqliteMagic, sizeof(header)) != 0)) {
        throw_not_lowbit(file, "it is not an SQLite file");
    }
    if (rc != SQLITE_OK) {
        throw StoreError("cannot read " + file.string() + ": " + sqlite3_errstr(rc), true);
    }
}

int64_t pragma_int(sqlite3* db, const char* sql) {
    Statement query(db, sql);
    return query.step() ? query.column_int64(0) : 0;
}

// Runs a pragma and returns its first column; the statement is finished before returning, so
// no read stays open across a later COMMIT.
std::string pragma_text(sqlite3* db, const char* sql) {
    Statement query(db, sql);
    return query.step() ? query.column_text(0) : std::string();
}

// Refuses foreign databases and newer schemas; returns the current user_version.
int check_identity(sqlite3* db, const std::filesystem::path& file) {
    int64_t application_id = 0;
    int64_t version = 0;
    int64_t objects = 0;
    try {
        application_id = pragma_int(db, "PRAGMA application_id");
        version = pragma_int(db, "PRAGMA user_version");
        objects = pragma_int(db, "SELECT count(*) FROM sqlite_master");
    } catch (const StoreError& error) {
        if (error.is_bad_input()) {  // SQLITE_NOTADB: a damaged or encrypted file
            throw_not_lowbit(file, error.what());
        }
        throw;
    }
    const bool fresh = application_id == 0 && version == 0 && objects == 0;
    if (!fresh && application_id != kLowbitApplicationId) {
        throw_not_lowbit(file,
                         "SQLite application_id is " + hex32(application_id) + ", Lowbit's is " +
                             hex32(kLowbitApplicationId));
    }
    const int latest = latest_schema_version();
    if (version > latest) {
        throw StoreError(file.string() + " has schema version " + std::to_string(version) +
                             " but this build of Lowbit knows schema versions up to " +
                             std::to_string(latest) + "; use a newer lowbit",
                         true);
    }
    return static_cast<int>(version);
}

}  // namespace

struct Workspace::Impl {
    std::filesystem::path root;
    std::filesystem::path database;
    sqlite3* db = nullptr;
    int schema_version = 0;

    ~Impl() {
        // close_v2: statements still alive elsewhere make it a zombie closed with the last one.
        sqlite3_close_v2(db);
    }
};

Workspace Workspace::open(const std::filesystem::path& root, OpenMode mode) {
    auto impl = std::make_unique<Impl>();
    impl->root = root;
    impl->database = root / kDatabaseFile;
    const bool read_write = mode == OpenMode::kReadWrite;

    if (read_write) {
        prepare_folder(root);
    } else if (!std::filesystem::exists(impl->database)) {
        throw StoreError("no workspace database at " + impl->database.string(), true);
    }
    const int flags =
        read_write ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) : SQLITE_OPEN_READONLY;
    const int rc = sqlite3_open_v2(impl->database.c_str(), &impl->db, flags, nullptr);
    if (rc != SQLITE_OK) {
        const std::string detail =
            impl->db != nullptr ? sqlite3_errmsg(impl->db) : sqlite3_errstr(rc);
        throw StoreError("cannot open " + impl->database.string() + ": " + detail,
                         (rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_NOTADB ||
                             (rc & 0xff) == SQLITE_PERM);
    }
    sqlite3_extended_result_codes(impl->db, 1);
    check_sqlite_header(impl->db, impl->database);
    check_sqlite(impl->db, sqlite3_busy_timeout(impl->db, kBusyTimeoutMs), "setting busy timeout");

    impl->schema_version = check_identity(impl->db, impl->database);
    exec_sql(impl->db, "PRAGMA foreign_keys = ON");
    if (read_write) {
        // Only after the identity check: switching to WAL writes into the file header.
        if (pragma_text(impl->db, "PRAGMA journal_mode = WAL") != "wal") {
            throw StoreError(impl->database.string() + ": cannot switch to WAL journal mode",
                             false);
        }
        exec_sql(impl->db, "PRAGMA synchronous = NORMAL");
        // A training run's commits rewrite the same index pages step after step (a tensor's rows
        // sit next to its earlier steps'). Checkpointing every 8192 pages (32 MiB of WAL at 4 KiB
        // pages) instead of SQLite's 1000 copies such a page into the database once per
        // checkpoint rather than once per few commits (docs/workspace-schema.md).
        exec_sql(impl->db, "PRAGMA wal_autocheckpoint = 8192");
        impl->schema_version = apply_migrations(impl->db);
    } else if (impl->schema_version < latest_schema_version()) {
        throw StoreError(impl->database.string() + " has schema version " +
                             std::to_string(impl->schema_version) + ", older than this build's " +
                             std::to_string(latest_schema_version()) +
                             "; open it once read-write to upgrade it (lowbit runs list does)",
                         true);
    }
    return Workspace(std::move(impl));
}

std::filesystem::path Workspace::default_root() {
    const char* xdg = std::getenv("XDG_DATA_HOME");
    // The XDG spec says a relative value must be ignored.
    if (xdg != nullptr && *xdg != '\0' && std::filesystem::path(xdg).is_absolute()) {
        return std::filesystem::path(xdg) / "lowbit" / "workspace";
    }
    const char* home = std::getenv("HOME");
    const std::filesystem::path base = home != nullptr && *home != '\0' ? home : ".";
    return base / ".local" / "share" / "lowbit" / "workspace";
}

int Workspace::latest_schema_version() {
    return ::lowbit::store::latest_schema_version();
}

Workspace::Workspace(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Workspace::Workspace(Workspace&&) noexcept = default;

Workspace& Workspace::operator=(Workspace&&) noexcept = default;

Workspace::~Workspace() = default;

const std::filesystem::path& Workspace::root() const {
    return impl_->root;
}

std::filesystem::path Workspace::database_path() const {
    return impl_->database;
}

std::filesystem::path Workspace::run_dir(int64_t run_id) const {
    return impl_->root / "runs" / std::to_string(run_id);
}

int Workspace::schema_version() const {
    return impl_->schema_version;
}

sqlite3* Workspace::handle() const {
    return impl_->db;
}

}  // namespace lowbit::store
