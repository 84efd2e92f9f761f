// SentinelWatch: runs the divergence sentinel over the live runs of a workspace (docs/studio.md
// §Divergence sentinel). Each poll reads the new scalar and statistics rows of every running run
// (and once more of a run that just ended, so its last rows are judged), records each new alert
// in the workspace's run_alerts table and returns it. Alerts an earlier session stored count as
// fired, so a reopened studio does not raise them again. Plain class: the workspace worker owns
// one and calls it from its thread.
#pragma once

#include "lowbit/store/run_alerts.h"
#include "lowbit/store/run_reader.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "diagnose/divergence_sentinel.h"
#include "models/run_row.h"

namespace lowbit::ui {

class SentinelWatch {
public:
    explicit SentinelWatch(SentinelRules rules = {});

    void set_rules(const SentinelRules& rules);

    const SentinelRules& rules() const {
        return sentinel_.rules();
    }

    // `workspace` and `reader` are the worker's read-only connection; alerts are written through
    // a read-write connection to the same folder, opened only when there is one to write. Throws
    // store::StoreError when the database cannot be read or written.
    std::vector<store::AlertRecord> poll(const store::Workspace& workspace,
                                         const store::RunReader& reader,
                                         const std::vector<RunRow>& rows);

private:
    void prime(const store::Workspace& workspace, int64_t run_id);

    DivergenceSentinel sentinel_;
    std::set<int64_t> watched_;  // running at the last poll
    std::set<int64_t> primed_;   // stored alerts already marked as fired
    std::map<int64_t, int64_t> scalar_row_id_;
    std::map<int64_t, int64_t> stats_row_id_;
};

}  // namespace lowbit::ui
