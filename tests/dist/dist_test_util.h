// Two ranks of one job as two threads of the test process, joined over loopback on a free port.
#pragma once

#include "lowbit/dist/world.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <thread>

#include "../support/loopback_port.h"

namespace lowbit::dist {

/// Runs body(world) on ranks 0 and 1 concurrently; an exception on either fails the test.
inline void run_two_ranks(const std::function<void(World&)>& body,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    // c10d's flight recorder (a log of recent collectives) is one object per process, and the
    // Gloo process groups of two ranks in one process record into it concurrently, which
    // crashed now and then inside the recorder. A real rank is a process with one process group,
    // so only this test set-up needs it off; it is read once, when the first group is created.
    setenv("TORCH_FR_BUFFER_SIZE", "0", /*overwrite=*/0);
    const int port = testing::free_loopback_port();
    std::exception_ptr errors[2];
    auto rank_main = [&](int rank) {
        try {
            LaunchEnvironment env;
            env.rank = rank;
            env.world_size = 2;
            env.master_port = port;
            const std::unique_ptr<World> world = World::join(env, timeout);
            body(*world);
        } catch (...) {
            errors[rank] = std::current_exception();
        }
    };
    std::thread other(rank_main, 1);
    rank_main(0);
    other.join();
    for (const std::exception_ptr& e : errors) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                ADD_FAILURE() << ex.what();
            }
        }
    }
}

}  // namespace lowbit::dist
