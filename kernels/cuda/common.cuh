// Shared CUDA helpers for lowbit_kernels: LOWBIT_CUDA_CHECK (the one error-check macro of this
// API; it reports statement, function, file and line and returns Status::kCudaError), ceil_div,
// team indices, warp reductions, order-preserving float keys for atomicMin/Max, a stream-ordered
// buffer and the device's multiprocessor count, cached.
#pragma once

#include "lowbit/kernels/status.h"

#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <cstdio>

namespace lowbit::kernels {

inline void cuda_report_error(
    cudaError_t err, const char* stmt, const char* func, const char* file, int line) {
    std::fprintf(stderr,
                 "lowbit_kernels: CUDA error %s (%s)\n  statement: %s\n  function: %s\n"
                 "  at: %s:%d\n",
                 cudaGetErrorName(err),
                 cudaGetErrorString(err),
                 stmt,
                 func,
                 file,
                 line);
}

}  // namespace lowbit::kernels

// Use inside functions returning lowbit::kernels::Status.
#define LOWBIT_CUDA_CHECK(stmt)                                    \
    do {                                                           \
        const cudaError_t lowbit_err_ = (stmt);                    \
        if (lowbit_err_ != cudaSuccess) {                          \
            ::lowbit::kernels::cuda_report_error(                  \
                lowbit_err_, #stmt, __func__, __FILE__, __LINE__); \
            return ::lowbit::kernels::Status::kCudaError;          \
        }                                                          \
    } while (0)

namespace lowbit::kernels {

constexpr std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
    return (a + b - 1) / b;
}

constexpr int kWarpSize = 32;

/// Monotonic map float -> uint32 (for non-NaN floats): a < b  <=>  key(a) < key(b), with
/// -0 < +0. Lets atomicMin/atomicMax on unsigned int compute float min/max exactly.
__device__ inline unsigned int float_to_ordered_key(float f) {
    const unsigned int u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__host__ __device__ inline float ordered_key_to_float(unsigned int k) {
    const unsigned int u = (k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k;
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    static_assert(sizeof(f) == sizeof(u));
    __builtin_memcpy(&f, &u, sizeof(f));
    return f;
#endif
}

/// Index, across the grid, of the team of kTeam consecutive threads (a warp, a block) this
/// thread belongs to; kTeam divides blockDim.x, so a team never straddles two blocks.
template <int kTeam>
__device__ inline std::int64_t team_index() {
    return (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kTeam;
}

template <class T>
__device__ inline T warp_reduce_sum(T v) {
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
        v += __shfl_down_sync(0xFFFFFFFFu, v, offset);
    }
    return v;
}

template <class T>
__device__ inline T warp_reduce_min(T v) {
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
        const T o = __shfl_down_sync(0xFFFFFFFFu, v, offset);
        v = o < v ? o : v;
    }
    return v;
}

template <class T>
__device__ inline T warp_reduce_max(T v) {
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
        const T o = __shfl_down_sync(0xFFFFFFFFu, v, offset);
        v = o > v ? o : v;
    }
    return v;
}

/// Stream-ordered device allocation released with cudaFreeAsync on scope exit (also on the early
/// returns of LOWBIT_CUDA_CHECK).
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    ~DeviceBuffer() {
        if (ptr_ != nullptr) {
            (void)cudaFreeAsync(ptr_, stream_);
        }
    }

    cudaError_t allocate(std::size_t bytes, cudaStream_t stream) {
        stream_ = stream;
        return cudaMallocAsync(&ptr_, bytes, stream);
    }

    template <class T>
    T* as() const {
        return static_cast<T*>(ptr_);
    }

private:
    void* ptr_ = nullptr;
    cudaStream_t stream_ = nullptr;
};

/// Multiprocessors of the current device, asked of the driver once per device (a launch must not
/// pay for an attribute query); 132 (an H100 SXM) if the query fails.
inline int current_device_multiprocessors() {
    constexpr int kMaxDevices = 64;
    static std::atomic<int> counts[kMaxDevices];  // 0: not asked yet
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices) {
        return 132;
    }
    int sms = counts[device].load(std::memory_order_relaxed);
    if (sms == 0) {
        if (cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess ||
            sms <= 0) {
            sms = 132;
        }
        counts[device].store(sms, std::memory_order_relaxed);
    }
    return sms;
}

/// Blocks to launch for a grid-stride loop: enough to fill the GPU (8 blocks per SM), never more
/// than the work needs.
inline int grid_stride_blocks(std::int64_t work_items, int threads_per_block) {
    const std::int64_t needed = ceil_div(work_items, threads_per_block);
    const std::int64_t cap = static_cast<std::int64_t>(current_device_multiprocessors()) * 8;
    return static_cast<int>(needed < cap ? (needed > 0 ? needed : 1) : cap);
}

}  // namespace lowbit::kernels
