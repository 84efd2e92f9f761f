// Run liveness (docs/workspace-schema.md, "Liveness"): whether a run whose status says `running`
// still has its engine process. On the run's own host the pid is asked (a pid that is gone or a
// zombie: the process is gone); from another host only the heartbeat can tell, and a heartbeat
// older than the limit counts as gone. Readers show such runs as killed; `lowbit runs
// mark-killed` writes that status.
#pragma once

#include "lowbit/store/records.h"

#include <string>

namespace lowbit::store {

struct LivenessCheck {
    std::string this_host;        // default: gethostname()
    double now = 0;               // unix seconds; default: the current time
    double stale_after_s = 300;   // other host: a heartbeat older than this means gone
    static LivenessCheck here();  // this host, now, the default limit
};

// True when `run` is `running` but its engine process is gone. Runs recorded without a pid
// (before schema version 2) are never judged gone.
bool run_process_gone(const RunRecord& run, const LivenessCheck& check);

// The status to show: kKilled for a running run whose process is gone, else the stored one.
RunStatus observed_status(const RunRecord& run, const LivenessCheck& check);

// Whether a process with this pid exists on this host and is not a zombie.
bool local_process_alive(int64_t pid);

}  // namespace lowbit::store
