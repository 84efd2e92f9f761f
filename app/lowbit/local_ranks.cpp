// run_local_ranks (local_ranks.h): fork/exec per rank, signal forwarding, reaping.
#include "local_ranks.h"

#include "lowbit/util/exit_codes.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lowbit::app {
namespace {

std::vector<std::string> g_arguments;  // argv[1..]

// The ranks' pids for the signal handler, which may only read them and call kill().
constexpr int kMaxLocalRanks = 256;
pid_t g_children[kMaxLocalRanks];
std::atomic<int> g_child_count{0};

void forward_signal(int signal_number) {
    const int count = g_child_count.load();
    for (int i = 0; i < count; ++i) {
        if (g_children[i] > 0) {
            kill(g_children[i], signal_number);
        }
    }
}

// Cores this process may run on (its affinity mask, as a batch scheduler sets it).
int usable_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        return std::max(1, CPU_COUNT(&set));
    }
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// A port nobody listens on now: bind port 0 and read what the kernel chose. Another process
// could take it before rank 0 binds it; that window is short and the error names the port.
int free_local_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        throw std::runtime_error(std::string("cannot open a socket: ") + std::strerror(errno));
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        const std::string error = std::strerror(errno);
        close(fd);
        throw std::runtime_error("cannot find a free port on 127.0.0.1: " + error);
    }
    close(fd);
    return ntohs(address.sin_port);
}

// The remembered arguments without --nproc-per-node N / --nproc-per-node=N.
std::vector<std::string> rank_arguments() {
    std::vector<std::string> out;
    constexpr std::string_view kOption = "--nproc-per-node";
    for (std::size_t i = 0; i < g_arguments.size(); ++i) {
        const std::string& a = g_arguments[i];
        if (a == kOption) {
            ++i;  // its value
            continue;
        }
        if (a.rfind(std::string(kOption) + "=", 0) == 0) {
            continue;
        }
        out.push_back(a);
    }
    return out;
}

// The environment of rank `rank`: this process's, with the launch variables of a local job set
// and torchrun's agent-store flag removed. The ranks share this machine's cores: each gets its
// share of LibTorch threads unless the user chose (OMP_NUM_THREADS) or the recipe does
// (train.threads, which wins).
std::vector<std::string> rank_environment(int rank, int nproc, int port) {
    const std::vector<std::pair<std::string, std::string>> launch = {
        {"RANK", std::to_string(rank)},
        {"LOCAL_RANK", std::to_string(rank)},
        {"WORLD_SIZE", std::to_string(nproc)},
        {"LOCAL_WORLD_SIZE", std::to_string(nproc)},
        {"MASTER_ADDR", "127.0.0.1"},
        {"MASTER_PORT", std::to_string(port)},
    };
    auto replaced = [&](std::string_view entry) {
        const std::string_view name = entry.substr(0, entry.find('='));
        return name == "TORCHELASTIC_USE_AGENT_STORE" ||
               std::any_of(
                   launch.begin(), launch.end(), [&](const auto& kv) { return kv.first == name; });
    };
    std::vector<std::string> env;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        if (!replaced(*entry)) {
            env.emplace_back(*entry);
        }
    }
    for (const auto& [name, value] : launch) {
        env.push_back(name + "=" + value);
    }
    if (std::getenv("OMP_NUM_THREADS") == nullptr) {
        env.push_back("OMP_NUM_THREADS=" + std::to_string(std::max(1, usable_cores() / nproc)));
    }
    return env;
}

pid_t start_rank(const std::vector<std::string>& arguments, int rank, int nproc, int port) {
    // Everything the child needs is made here: after fork() in a process with threads, the child
    // may only call async-signal-safe functions until it execs (no malloc, so no setenv).
    std::error_code error;
    // This very executable (exec'd through /proc/self/exe, so a rebuilt file on disk cannot
    // interfere), with its real path as argv[0] so that ps shows what runs.
    std::string exe = std::filesystem::read_symlink("/proc/self/exe", error).string();
    if (error) {
        exe = "/proc/self/exe";
    }
    std::vector<std::string> copies = arguments;
    std::vector<char*> argv{exe.data()};
    for (std::string& a : copies) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::vector<std::string> env = rank_environment(rank, nproc, port);
    std::vector<char*> envp;
    for (std::string& entry : env) {
        envp.push_back(entry.data());
    }
    envp.push_back(nullptr);
    const std::string exec_failed = "lowbit: error: cannot run " + exe + "\n";
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
        throw std::runtime_error(std::string("cannot start rank ") + std::to_string(rank) + ": " +
                                 std::strerror(errno));
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        // A launcher killed outright (SIGKILL, as the studio's last resort) cannot forward
        // anything: its ranks then get SIGTERM from the kernel, checkpoint and stop.
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) {
            _exit(util::kExitFailure);  // the launcher died before prctl took effect
        }
        execve("/proc/self/exe", argv.data(), envp.data());
        (void)!write(STDERR_FILENO, exec_failed.data(), exec_failed.size());
        _exit(util::kExitFailure);
    }
    return pid;
}

void install_forwarding() {
    struct sigaction action = {};
    action.sa_handler = forward_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
}

}  // namespace

void remember_command_line(int argc, char** argv) {
    g_arguments.assign(argv + 1, argv + argc);
}

int run_local_ranks(int nproc, std::chrono::milliseconds collective_timeout) {
    if (nproc < 1 || nproc > kMaxLocalRanks) {
        throw util::BadInput("--nproc-per-node " + std::to_string(nproc) + " is outside 1.." +
                             std::to_string(kMaxLocalRanks));
    }
    const std::vector<std::string> arguments = rank_arguments();
    const int port = free_local_port();
    install_forwarding();
    for (int rank = 0; rank < nproc; ++rank) {
        g_children[rank] = start_rank(arguments, rank, nproc, port);
        g_child_count.store(rank + 1);
    }

    int rank0_code = util::kExitFailure;
    int running = nproc;
    bool failed = false;
    auto failed_at = std::chrono::steady_clock::now();
    const auto grace = collective_timeout + std::chrono::seconds(30);
    while (running > 0) {
        int status = 0;
        const pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno != EINTR) {
            break;
        }
        if (pid <= 0) {
            if (failed && std::chrono::steady_clock::now() - failed_at > grace) {
                std::fprintf(stderr,
                             "lowbit: error: ranks still running %lld s after a rank failed; "
                             "killing them\n",
                             static_cast<long long>(
                                 std::chrono::duration_cast<std::chrono::seconds>(grace).count()));
                forward_signal(SIGKILL);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        int rank = 0;
        while (rank < nproc && g_children[rank] != pid) {
            ++rank;
        }
        if (rank == nproc) {
            continue;
        }
        g_children[rank] = -1;
        --running;
        const bool exited = WIFEXITED(status);
        const int code = exited ? WEXITSTATUS(status) : util::kExitFailure;
        if (!exited) {
            std::fprintf(stderr,
                         "lowbit: error: rank %d was killed by signal %d (%s)\n",
                         rank,
                         WTERMSIG(status),
                         strsignal(WTERMSIG(status)));
        }
        if (rank == 0) {
            rank0_code = code;
        }
        if (code != util::kExitOk && !failed) {
            failed = true;
            failed_at = std::chrono::steady_clock::now();
        }
    }
    return rank0_code;
}

}  // namespace lowbit::app
