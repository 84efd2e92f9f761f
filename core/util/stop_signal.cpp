// Signal handlers for cooperative stopping (see stop_signal.h). Only async-signal-safe
// operations happen in the handler: an atomic store, signal() and raise().
#include "lowbit/util/stop_signal.h"

#include <atomic>
#include <csignal>

namespace lowbit::util {
namespace {

std::atomic<int> g_stop_signal{0};

void on_stop_signal(int signal_number) {
    int expected = 0;
    if (!g_stop_signal.compare_exchange_strong(expected, signal_number)) {
        // Second signal: the user insists; die with the default action.
        std::signal(signal_number, SIG_DFL);
        std::raise(signal_number);
    }
}

}  // namespace

void install_stop_handlers() {
    struct sigaction action = {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
}

bool stop_requested() {
    return g_stop_signal.load() != 0;
}

int stop_signal_number() {
    return g_stop_signal.load();
}

void reset_stop_request() {
    g_stop_signal.store(0);
}

}  // namespace lowbit::util
