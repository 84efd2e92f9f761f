// Opening a workspace to read it, as `lowbit runs` and the studio's readers do: read-only, except
// that a workspace of an older schema version is first brought to this build's version by one
// read-write open (the migrations only add tables and columns; docs/workspace-schema.md §Schema
// versions). Everything else a read-only open refuses (no workspace, a foreign database, a newer
// schema) is refused the same way.
#pragma once

#include "lowbit/store/workspace.h"

#include <filesystem>

namespace lowbit::store {

Workspace open_for_reading(const std::filesystem::path& root);

}  // namespace lowbit::store
