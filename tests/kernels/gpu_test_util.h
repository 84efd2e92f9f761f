// Helpers for the CUDA tests (built only with CUDA): skip without a device, and a tiny RAII
// device buffer for floats.
#pragma once

#include "lowbit/kernels/device.h"

#include <gtest/gtest.h>

#include <vector>

#if LOWBIT_HAVE_CUDA
#include <cuda_runtime_api.h>

// Skips the current test (ctest counts it as skipped, not passed) when no GPU is usable.
#define LOWBIT_REQUIRE_CUDA_DEVICE()                          \
    do {                                                      \
        if (!::lowbit::kernels::cuda_device_available()) {    \
            GTEST_SKIP() << "no CUDA device on this machine"; \
        }                                                     \
    } while (0)

namespace lowbit::kernels::test {

template <class T>
class DeviceVector {
public:
    explicit DeviceVector(std::size_t n) : n_(n) {
        if (n_ > 0) {
            EXPECT_EQ(cudaMalloc(&ptr_, n_ * sizeof(T)), cudaSuccess);
        }
    }

    explicit DeviceVector(const std::vector<T>& host) : DeviceVector(host.size()) {
        if (n_ > 0) {
            EXPECT_EQ(cudaMemcpy(ptr_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice),
                      cudaSuccess);
        }
    }

    DeviceVector(const DeviceVector&) = delete;
    DeviceVector& operator=(const DeviceVector&) = delete;

    ~DeviceVector() {
        if (ptr_ != nullptr) {
            (void)cudaFree(ptr_);
        }
    }

    T* get() const {
        return static_cast<T*>(ptr_);
    }

    std::vector<T> to_host() const {
        std::vector<T> host(n_);
        if (n_ > 0) {
            EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
            EXPECT_EQ(cudaMemcpy(host.data(), ptr_, n_ * sizeof(T), cudaMemcpyDeviceToHost),
                      cudaSuccess);
        }
        return host;
    }

private:
    void* ptr_ = nullptr;
    std::size_t n_ = 0;
};

}  // namespace lowbit::kernels::test

#else
// Without CUDA the GPU tests are not built at all (tests/kernels/CMakeLists.txt), so that no
// test exists under a GPU test's name that could only skip.
#error "gpu_test_util.h is for builds with LOWBIT_HAVE_CUDA"
#endif
