// Alerts: one INSERT per alert, one SELECT by row id (docs/workspace-schema.md, "Alerts").
#include "lowbit/store/run_alerts.h"

#include <sqlite3.h>

#include <cmath>

#include "run_columns.h"
#include "statement.h"

namespace lowbit::store {

namespace {

void bind_optional_double(Statement& statement, int index, const std::optional<double>& value) {
    if (value && std::isfinite(*value)) {
        statement.bind_double(index, *value);
    } else {
        statement.bind_null(index);
    }
}

}  // namespace

int64_t add_run_alert(Workspace& workspace, const AlertRecord& alert) {
    sqlite3* db = workspace.handle();
    Statement exists(db, "SELECT 1 FROM runs WHERE id = ?");
    exists.bind_int64(1, alert.run_id);
    if (!exists.step()) {
        throw StoreError(workspace.database_path().string() + ": cannot record an alert of run " +
                             std::to_string(alert.run_id) + ": no such run",
                         true);
    }
    namespace ac = alerts_column;
    Statement insert(db, kAlertsTable.insert_sql());
    insert.bind_int64(ac::kRunId, alert.run_id)
        .bind_int64(ac::kStep, alert.step)
        .bind_text(ac::kRule, alert.rule)
        .bind_text(ac::kSubject, alert.subject)
        .bind_text(ac::kMessage, alert.message)
        .bind_double(ac::kCreatedAt, alert.created_at);
    bind_optional_double(insert, ac::kValue, alert.value);
    bind_optional_double(insert, ac::kThreshold, alert.threshold);
    insert.execute();
    return sqlite3_last_insert_rowid(db);
}

std::vector<AlertRecord> run_alerts(const Workspace& workspace,
                                    int64_t run_id,
                                    int64_t since_row_id) {
    Statement query(workspace.handle(),
                    kAlertsTable.select_sql() + "WHERE run_id = ? AND id > ? ORDER BY id");
    query.bind_int64(1, run_id).bind_int64(2, since_row_id);
    std::vector<AlertRecord> alerts;
    while (query.step()) {
        namespace ac = alerts_column;
        AlertRecord alert;
        alert.row_id = query.column_int64(ac::kId);
        alert.run_id = query.column_int64(ac::kRunId);
        alert.step = query.column_int64(ac::kStep);
        alert.rule = query.column_text(ac::kRule);
        alert.subject = query.column_text(ac::kSubject);
        alert.value = query.column_optional_double(ac::kValue);
        alert.threshold = query.column_optional_double(ac::kThreshold);
        alert.message = query.column_text(ac::kMessage);
        alert.created_at = query.column_double(ac::kCreatedAt);
        alerts.push_back(std::move(alert));
    }
    return alerts;
}

}  // namespace lowbit::store
