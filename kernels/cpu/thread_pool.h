// Private: the built-in persistent pool behind ParallelBackend (parallel.h) when the engine has
// installed none: hardware_concurrency - 1 workers started on first use, parked on a condition
// variable between passes; the calling thread runs tasks too.
#pragma once

#include "lowbit/kernels/parallel.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace lowbit::kernels {

class ThreadPool {
public:
    /// The process-wide pool (created on first use, joined at exit).
    static ThreadPool& instance();

    explicit ThreadPool(int workers);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    /// Workers + the calling thread.
    int threads() const {
        return static_cast<int>(workers_.size()) + 1;
    }

    /// ParallelBackend::run. One pass at a time: a second caller (another thread, or a task of
    /// this pass) runs its tasks serially instead of waiting.
    void run(std::int64_t tasks, void* context, ParallelTask task);

private:
    void work();
    void claim_tasks();

    std::mutex pass_mutex_;  // held by the thread whose pass the workers serve
    std::mutex state_mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::uint64_t generation_ = 0;  // bumped per pass, under state_mutex_
    int active_ = 0;                // workers inside the current pass, under state_mutex_
    bool stopping_ = false;
    // The current pass; written under state_mutex_ before generation_ is bumped.
    std::int64_t tasks_ = 0;
    void* context_ = nullptr;
    ParallelTask task_ = nullptr;
    std::atomic<std::int64_t> next_{0};
    std::atomic<std::int64_t> remaining_{0};
    std::vector<std::thread> workers_;
};

}  // namespace lowbit::kernels
