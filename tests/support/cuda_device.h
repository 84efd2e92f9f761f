// Whether the engine's tests can run on CUDA here: a LibTorch and kernels built with CUDA, and a
// device. The gpu-labelled suites report SKIPPED without one.
#pragma once

#include <torch/torch.h>

namespace lowbit::testing {

inline bool have_cuda() {
#if LOWBIT_TORCH_CUDA
    return torch::cuda::is_available();
#else
    return false;
#endif
}

}  // namespace lowbit::testing
