// RunStatus <-> the text stored in runs.status.
#include "lowbit/store/records.h"

#include <stdexcept>

namespace lowbit::store {

namespace {

struct StatusName {
    RunStatus status;
    const char* name;
};

// The strings are persisted (runs.status, CHECK constraint of 0001_init.sql): never rename.
constexpr StatusName kStatusNames[] = {
    {RunStatus::kCreated, "created"},
    {RunStatus::kRunning, "running"},
    {RunStatus::kCompleted, "completed"},
    {RunStatus::kStopped, "stopped"},
    {RunStatus::kKilled, "killed"},
    {RunStatus::kFailed, "failed"},
    {RunStatus::kDiverged, "diverged"},
};

}  // namespace

const char* to_string(RunStatus status) {
    for (const auto& entry : kStatusNames) {
        if (entry.status == status) {
            return entry.name;
        }
    }
    return "unknown";
}

RunStatus run_status_from_string(const std::string& text) {
    for (const auto& entry : kStatusNames) {
        if (text == entry.name) {
            return entry.status;
        }
    }
    throw std::invalid_argument("unknown run status '" + text +
                                "' (expected created, running, completed, stopped, killed, "
                                "failed or diverged)");
}

bool is_terminal(RunStatus status) {
    return status != RunStatus::kCreated && status != RunStatus::kRunning;
}

}  // namespace lowbit::store
