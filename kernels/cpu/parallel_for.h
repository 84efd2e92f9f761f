// Private: split `num_blocks` work blocks into contiguous ranges ("slots"), one task each, run on
// the installed parallel backend (parallel.h). Callers choose the block size, so results combined
// per block in block order do not depend on the thread count; per-slot scratch is indexed by the
// slot, never by the thread.
#pragma once

#include "lowbit/kernels/parallel.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace lowbit::kernels {

/// Below this many elements per slot a pass is not split: waking a thread costs more than the
/// work (64 KiB of float32).
inline constexpr std::int64_t kMinElementsPerSlot = std::int64_t{1} << 14;

/// requested > 0: that many; otherwise the backend's thread count.
inline int cpu_resolve_threads(int requested) {
    return requested > 0 ? requested : parallel_threads();
}

/// The slots worth using for `elements` of work on at most `threads` threads (at least 1).
inline int cpu_threads_for_work(int threads, std::int64_t elements) {
    const std::int64_t useful = std::max<std::int64_t>(1, elements / kMinElementsPerSlot);
    return static_cast<int>(std::min<std::int64_t>(threads, useful));
}

/// Calls fn(block_begin, block_end, slot) on min(num_threads, num_blocks) contiguous ranges of
/// blocks, one task each; blocks in a range are processed in order by one thread.
template <class Fn>
void parallel_for_blocks(std::int64_t num_blocks, int num_threads, Fn&& fn) {
    const std::int64_t slots =
        std::max<std::int64_t>(1, std::min<std::int64_t>(num_threads, num_blocks));
    if (slots == 1) {
        fn(std::int64_t{0}, num_blocks, 0);
        return;
    }

    struct Pass {
        std::remove_reference_t<Fn>* fn;
        std::int64_t num_blocks;
        std::int64_t slots;
    } pass{&fn, num_blocks, slots};

    parallel_run(slots, &pass, [](void* context, std::int64_t slot) {
        const Pass& p = *static_cast<const Pass*>(context);
        (*p.fn)(p.num_blocks * slot / p.slots,
                p.num_blocks * (slot + 1) / p.slots,
                static_cast<int>(slot));
    });
}

}  // namespace lowbit::kernels
