// The threads the engine's CPU kernels run on: LibTorch's intra-op pool (docs/kernels.md
// §Threads), so the kernels and LibTorch's operators take turns on one set of threads instead of
// two pools competing for the same cores.
#pragma once

namespace lowbit::util {

/// The thread count to hand a CPU kernel: LibTorch's intra-op thread count. The first call
/// installs LibTorch's intra-op pool as the kernels' parallel backend.
int kernel_threads();

}  // namespace lowbit::util
