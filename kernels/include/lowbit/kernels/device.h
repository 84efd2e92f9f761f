// Runtime query for a usable CUDA device. Compiled into every build, so callers and tests can ask
// without #ifdefs; it answers false when lowbit_kernels was built without the CUDA toolkit.
#pragma once

namespace lowbit::kernels {

/// @brief True when built with CUDA and cudaGetDeviceCount reports at least one device.
/// Thread-safe; the answer is computed on every call (cheap after the CUDA runtime is up).
bool cuda_device_available();

}  // namespace lowbit::kernels
