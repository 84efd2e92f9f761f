// cuda_device_available(): asks the CUDA runtime for a device count when built with CUDA. A
// machine with nvcc but no GPU (or no driver) answers false instead of failing.
#include "lowbit/kernels/device.h"

#if LOWBIT_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace lowbit::kernels {

bool cuda_device_available() {
#if LOWBIT_HAVE_CUDA
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        // Reset the last error; without a usable driver later calls may still report it.
        (void)cudaGetLastError();
        return false;
    }
    return count > 0;
#else
    return false;
#endif
}

}  // namespace lowbit::kernels
