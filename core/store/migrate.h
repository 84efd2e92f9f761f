// Schema identity and numbered migrations of the workspace database (private header).
#pragma once

#include "lowbit/store/workspace.h"

#include <cstdint>

struct sqlite3;

namespace lowbit::store {

// The identity every workspace database carries (public: the tests check it).
inline constexpr int32_t kLowbitApplicationId = kWorkspaceApplicationId;

// The highest schema version this build knows (the number of the last embedded migration).
int latest_schema_version();

// Applies the embedded migrations newer than the database's PRAGMA user_version, each in its own
// transaction together with its user_version bump. Safe against a second process migrating at
// the same time: the version is re-read under the write lock. Returns the resulting version.
int apply_migrations(sqlite3* db);

}  // namespace lowbit::store
