// Run annotations: the tags, notes and group of a run, the only fields of a run's row that a
// person edits (the studio's run browser, `lowbit runs` never). Everything else in the row and all
// of the run's data rows have one writer, the engine process of the run (docs/workspace-schema.md).
#pragma once

#include "lowbit/store/workspace.h"

#include <cstdint>
#include <string>

namespace lowbit::store {

enum class RunAnnotation { kTags, kNotes, kGroup };

// "tags", "notes", "group": for messages.
const char* to_string(RunAnnotation field);

// Writes one annotation of `run_id` in its own short transaction. The workspace must be open
// read-write; an unknown run id throws StoreError(bad_input=true).
void set_run_annotation(Workspace& workspace,
                        int64_t run_id,
                        RunAnnotation field,
                        const std::string& text);

}  // namespace lowbit::store
