// Peak memory of this process, recorded in a run's summary so runs that differ in how they store
// tensors (e.g. fp32 vs 8-bit optimizer states) can be compared on what they actually used.
#pragma once

#include <cstdint>
#include <optional>

namespace lowbit::util {

// Peak resident set size (VmHWM of /proc/self/status) in bytes; empty where unavailable.
std::optional<int64_t> peak_resident_bytes();

// Peak bytes allocated by LibTorch's CUDA caching allocator on `device_index` since the start or
// the last reset; empty without CUDA.
std::optional<int64_t> cuda_peak_allocated_bytes(int device_index);

// Starts a new peak window for cuda_peak_allocated_bytes (no-op without CUDA).
void reset_cuda_peak(int device_index);

}  // namespace lowbit::util
