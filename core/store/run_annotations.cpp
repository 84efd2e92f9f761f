// Run annotations: one UPDATE of the runs row per edit (the engine never writes these columns
// after creating the run, so the two writers never touch the same field).
#include "lowbit/store/run_annotations.h"

#include <sqlite3.h>

#include "run_columns.h"
#include "statement.h"

namespace lowbit::store {

const char* to_string(RunAnnotation field) {
    switch (field) {
        case RunAnnotation::kTags:
            return "tags";
        case RunAnnotation::kNotes:
            return "notes";
        case RunAnnotation::kGroup:
            return "group";
    }
    return "?";
}

namespace {

const char* column_name(RunAnnotation field) {
    switch (field) {
        case RunAnnotation::kTags:
            return kRunsTable.names[runs_column::kTags];
        case RunAnnotation::kNotes:
            return kRunsTable.names[runs_column::kNotes];
        case RunAnnotation::kGroup:
            return kRunsTable.names[runs_column::kGroupName];
    }
    return "";
}

}  // namespace

void set_run_annotation(Workspace& workspace,
                        int64_t run_id,
                        RunAnnotation field,
                        const std::string& text) {
    sqlite3* db = workspace.handle();
    Statement update(db,
                     std::string("UPDATE runs SET ") + column_name(field) + " = ? WHERE id = ?");
    update.bind_text(1, text).bind_int64(2, run_id).execute();
    if (sqlite3_changes(db) == 0) {
        throw StoreError(workspace.database_path().string() + ": cannot set the " +
                             to_string(field) + " of run " + std::to_string(run_id) +
                             ": no such run",
                         true);
    }
}

}  // namespace lowbit::store
