// Status codes returned by every lowbit_kernels entry point (ref, CPU and CUDA paths alike).
// The kernels never throw: callers (the torch adapters in core/) turn a bad Status into an error
// message that names the offending shape.
#pragma once

namespace lowbit::kernels {

/// @brief Result of a kernel call. Values are not persisted, but keep them stable anyway.
enum class Status {
    kOk = 0,
    kBadShape = 1,           ///< sizes inconsistent (e.g. cols not a multiple of group_size)
    kBadArgument = 2,        ///< null pointer, bits out of range, non-positive min_range, ...
    kNoKernelForConfig = 3,  ///< valid request that this implementation does not support
    kCudaError = 4,          ///< a CUDA runtime call or launch failed (details on stderr)
};

/// @brief Stable lower-case name of a status, e.g. "bad_shape". Never returns null.
const char* to_string(Status status);

}  // namespace lowbit::kernels
