// The built-in persistent pool and the installed-backend switch of parallel.h.
#include "cpu/thread_pool.h"

#include <algorithm>

namespace lowbit::kernels {
namespace {

thread_local bool t_inside_pass = false;  // this thread is running a task of some pass

void run_serially(std::int64_t tasks, void* context, ParallelTask task) {
    for (std::int64_t i = 0; i < tasks; ++i) {
        task(context, i);
    }
}

void builtin_run(std::int64_t tasks, void* context, ParallelTask task) {
    ThreadPool::instance().run(tasks, context, task);
}

int builtin_threads() {
    return ThreadPool::instance().threads();
}

// Two pointers rather than one atomic struct (16 bytes would need libatomic); installed at
// start-up, before any kernel runs.
std::atomic<decltype(ParallelBackend::run)> g_run{builtin_run};
std::atomic<decltype(ParallelBackend::threads)> g_threads{builtin_threads};

}  // namespace

ThreadPool& ThreadPool::instance() {
    static ThreadPool pool(std::max(1, static_cast<int>(std::thread::hardware_concurrency())) - 1);
    return pool;
}

ThreadPool::ThreadPool(int workers) {
    workers_.reserve(static_cast<std::size_t>(std::max(0, workers)));
    for (int i = 0; i < workers; ++i) {
        workers_.emplace_back([this] { work(); });
    }
}

ThreadPool::~ThreadPool() {
    {
        const std::lock_guard lock(state_mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& w : workers_) {
        w.join();
    }
}

void ThreadPool::claim_tasks() {
    const bool outer = t_inside_pass;
    t_inside_pass = true;
    for (std::int64_t i = next_.fetch_add(1); i < tasks_; i = next_.fetch_add(1)) {
        task_(context_, i);
        remaining_.fetch_sub(1);
    }
    t_inside_pass = outer;
}

void ThreadPool::work() {
    std::uint64_t seen = 0;
    for (;;) {
        {
            std::unique_lock lock(state_mutex_);
            wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) {
                return;
            }
            seen = generation_;
            ++active_;
        }
        claim_tasks();
        {
            const std::lock_guard lock(state_mutex_);
            --active_;
        }
        done_.notify_all();
    }
}

void ThreadPool::run(std::int64_t tasks, void* context, ParallelTask task) {
    if (tasks <= 1 || workers_.empty() || t_inside_pass) {
        run_serially(tasks, context, task);
        return;
    }
    std::unique_lock pass(pass_mutex_, std::try_to_lock);
    if (!pass.owns_lock()) {
        run_serially(tasks, context, task);
        return;
    }
    {
        std::unique_lock lock(state_mutex_);
        // A worker that woke after the previous pass ended may still be looking at its
        // (exhausted) counters: let it leave before they are overwritten.
        done_.wait(lock, [&] { return active_ == 0; });
        tasks_ = tasks;
        context_ = context;
        task_ = task;
        next_.store(0);
        remaining_.store(tasks);
        ++generation_;
    }
    wake_.notify_all();
    claim_tasks();
    std::unique_lock lock(state_mutex_);
    done_.wait(lock, [&] { return remaining_.load() == 0 && active_ == 0; });
}

void set_parallel_backend(ParallelBackend backend) {
    if (backend.run == nullptr || backend.threads == nullptr) {
        backend = ParallelBackend{builtin_run, builtin_threads};
    }
    g_run.store(backend.run);
    g_threads.store(backend.threads);
}

int parallel_threads() {
    return std::max(1, g_threads.load()());
}

void parallel_run(std::int64_t tasks, void* context, ParallelTask task) {
    if (tasks <= 1) {
        run_serially(tasks, context, task);
        return;
    }
    g_run.load()(tasks, context, task);
}

}  // namespace lowbit::kernels
