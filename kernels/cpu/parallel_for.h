// Private: split `num_blocks` work blocks into contiguous ranges, one per std::thread. Callers
// choose the block size, so results that are combined per block in block order do not depend on
// the thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace lowbit::kernels {

/// 0 (or negative) -> hardware_concurrency, at least 1.
inline int cpu_resolve_threads(int requested) {
    if (requested > 0) {
        return requested;
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : static_cast<int>(hw);
}

/// Calls fn(block_begin, block_end, thread_index) on `threads` contiguous ranges of blocks; the
/// calling thread runs range 0. Blocks in a range are processed in order by one thread.
template <class Fn>
void parallel_for_blocks(std::int64_t num_blocks, int num_threads, Fn&& fn) {
    const std::int64_t threads =
        std::max<std::int64_t>(1, std::min<std::int64_t>(num_threads, num_blocks));
    if (threads == 1) {
        fn(std::int64_t{0}, num_blocks, 0);
        return;
    }
    std::vector<std::thread> workers;
    workers.reserve(static_cast<std::size_t>(threads - 1));
    for (std::int64_t t = 1; t < threads; ++t) {
        const std::int64_t begin = num_blocks * t / threads;
        const std::int64_t end = num_blocks * (t + 1) / threads;
        workers.emplace_back([&fn, begin, end, t] { fn(begin, end, static_cast<int>(t)); });
    }
    fn(std::int64_t{0}, num_blocks / threads, 0);
    for (auto& w : workers) {
        w.join();
    }
}

}  // namespace lowbit::kernels
