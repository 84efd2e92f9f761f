// Child-process helpers for the CLI tests (see process_runner.h).
#include "process_runner.h"

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lowbit::testing {

namespace {

[[noreturn]] void exec_child(const std::vector<std::string>& argv, int out_fd, int err_fd) {
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
}

ProcessResult decode_status(int status) {
    ProcessResult result;
    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.term_signal = WTERMSIG(status);
    }
    return result;
}

}  // namespace

std::string lowbit_exe() {
    return LOWBIT_EXE;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

BackgroundProcess start_process(const std::vector<std::string>& argv,
                                const std::string& log_prefix) {
    BackgroundProcess process;
    process.out_path = log_prefix + ".out";
    process.err_path = log_prefix + ".err";
    const int out_fd = open(process.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = open(process.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out_fd < 0 || err_fd < 0) {
        throw std::runtime_error("cannot create log files " + log_prefix + ".{out,err}");
    }
    process.pid = fork();
    if (process.pid == 0) {
        exec_child(argv, out_fd, err_fd);
    }
    close(out_fd);
    close(err_fd);
    return process;
}

ProcessResult wait_process(const BackgroundProcess& process) {
    int status = 0;
    waitpid(process.pid, &status, 0);
    ProcessResult result = decode_status(status);
    result.out = read_file(process.out_path);
    result.err = read_file(process.err_path);
    return result;
}

ProcessResult run_process(const std::vector<std::string>& argv, int timeout_seconds) {
    char out_template[] = "/tmp/lowbit-cli-XXXXXX";
    const int fd = mkstemp(out_template);
    if (fd < 0) {
        throw std::runtime_error("mkstemp failed");
    }
    close(fd);
    const std::string prefix = out_template;
    const BackgroundProcess process = start_process(argv, prefix);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    int status = 0;
    while (waitpid(process.pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            kill(process.pid, SIGKILL);
            waitpid(process.pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ProcessResult result = decode_status(status);
    result.out = read_file(process.out_path);
    result.err = read_file(process.err_path);
    unlink(process.out_path.c_str());
    unlink(process.err_path.c_str());
    unlink(prefix.c_str());
    return result;
}

}  // namespace lowbit::testing
