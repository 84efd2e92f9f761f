// Runs a shell command for the tests that compare with an independent PyTorch script: its exit
// status (-1 if it did not exit normally), with stdout (and stderr when the command redirects
// it) appended to `output`.
#pragma once

#include <cstdio>
#include <string>

#include <sys/wait.h>

namespace lowbit::testing {

inline int run_shell_command(const std::string& cmd, std::string* output) {
    FILE* pipe = ::popen(cmd.c_str(), "r");
    if (pipe == nullptr) {
        return -1;
    }
    char buf[4096];
    std::size_t got = 0;
    while ((got = std::fread(buf, 1, sizeof(buf), pipe)) > 0) {
        output->append(buf, got);
    }
    const int status = ::pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace lowbit::testing
