// Liveness of running runs: kill(pid, 0) on the same host (plus /proc's state, since a killed
// child that its parent has not reaped yet is a zombie that kill() still finds), the heartbeat
// age elsewhere.
#include "lowbit/store/run_liveness.h"

#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>

#include <signal.h>
#include <unistd.h>

namespace lowbit::store {

LivenessCheck LivenessCheck::here() {
    LivenessCheck check;
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    check.this_host = host;
    check.now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    return check;
}

bool local_process_alive(int64_t pid) {
    if (pid <= 0) {
        return false;
    }
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) {
        return false;
    }
    // /proc/<pid>/stat: "pid (comm) S ..."; the state letter follows the last ')'.
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (stat && std::getline(stat, line)) {
        const auto paren = line.rfind(')');
        if (paren != std::string::npos && paren + 2 < line.size()) {
            const char state = line[paren + 2];
            return state != 'Z' && state != 'X';
        }
    }
    return true;
}

bool run_process_gone(const RunRecord& run, const LivenessCheck& check) {
    if (run.status != RunStatus::kRunning || !run.pid) {
        return false;
    }
    if (run.host == check.this_host) {
        return !local_process_alive(*run.pid);
    }
    return run.heartbeat_at && check.now - *run.heartbeat_at > check.stale_after_s;
}

RunStatus observed_status(const RunRecord& run, const LivenessCheck& check) {
    return run_process_gone(run, check) ? RunStatus::kKilled : run.status;
}

}  // namespace lowbit::store
