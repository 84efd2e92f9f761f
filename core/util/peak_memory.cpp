// Peak memory from the kernel's accounting (RSS high-water mark) and the CUDA caching allocator.
#include "lowbit/util/peak_memory.h"

#if LOWBIT_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <fstream>
#include <sstream>
#include <string>

namespace lowbit::util {

std::optional<int64_t> peak_resident_bytes() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            std::istringstream fields(line.substr(6));
            int64_t kib = 0;
            if (fields >> kib) {
                return kib * 1024;
            }
        }
    }
    return std::nullopt;
}

std::optional<int64_t> cuda_peak_allocated_bytes([[maybe_unused]] int device_index) {
#if LOWBIT_TORCH_CUDA
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(
        static_cast<c10::DeviceIndex>(device_index));
    // Index 0 aggregates all pool types.
    return stats.allocated_bytes[0].peak;
#else
    return std::nullopt;
#endif
}

void reset_cuda_peak([[maybe_unused]] int device_index) {
#if LOWBIT_TORCH_CUDA
    c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(device_index));
#endif
}

}  // namespace lowbit::util
