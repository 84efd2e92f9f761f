// The threads the CPU kernels run their parallel passes on (docs/kernels.md §Threads). kernels/
// stays free of LibTorch: the engine installs LibTorch's intra-op pool here, so the kernels and
// LibTorch's own operators share one set of threads and no thread is started on the hot path.
// Until a backend is installed, a persistent pool inside kernels/ runs the passes.
#pragma once

#include <cstdint>

namespace lowbit::kernels {

/// One parallel task: task(context, index).
using ParallelTask = void (*)(void* context, std::int64_t index);

/// @brief A thread pool as the kernels see it.
struct ParallelBackend {
    /// Runs task(context, i) exactly once for every i in [0, tasks), concurrently where it can,
    /// and returns when all have run. Called from inside one of its own tasks, it must run the
    /// tasks on the calling thread rather than wait for itself.
    void (*run)(std::int64_t tasks, void* context, ParallelTask task) = nullptr;
    /// Threads run() spreads tasks over (at least 1): the default thread count of every kernel.
    int (*threads)() = nullptr;
};

/// @brief Installs backend for every later parallel pass; a backend with a null member restores
/// the built-in pool. Call before kernels run (at start-up), not while one is running.
void set_parallel_backend(ParallelBackend backend);

/// @brief The installed backend's thread count.
int parallel_threads();

/// @brief Runs task over [0, tasks) on the installed backend (serially when tasks <= 1).
void parallel_run(std::int64_t tasks, void* context, ParallelTask task);

}  // namespace lowbit::kernels
