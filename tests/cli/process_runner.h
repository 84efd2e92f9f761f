// Runs a child process (the lowbit CLI) with arguments, capturing stdout, stderr and the exit
// status, with a timeout; or starts it in the background for signal tests.
#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

namespace lowbit::testing {

struct ProcessResult {
    int exit_code = -1;   // -1 when killed by a signal
    int term_signal = 0;  // the signal that killed it, else 0
    std::string out;
    std::string err;
};

ProcessResult run_process(const std::vector<std::string>& argv, int timeout_seconds = 600);

// Background child with stdout/stderr redirected to files; wait_process reaps it.
struct BackgroundProcess {
    pid_t pid = -1;
    std::string out_path;
    std::string err_path;
};

BackgroundProcess start_process(const std::vector<std::string>& argv,
                                const std::string& log_prefix);
ProcessResult wait_process(const BackgroundProcess& process);

std::string lowbit_exe();
std::string read_file(const std::string& path);

}  // namespace lowbit::testing
