// Tests of to_string(Status) and cuda_device_available(): the names are stable, and the device
// query answers what its contract says (true exactly when the CUDA runtime reports a device, and
// false with every device hidden).
#include "lowbit/kernels/status.h"

#include "lowbit/kernels/device.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#if LOWBIT_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace lowbit::kernels {
namespace {

TEST(Status, NamesAreStable) {
    EXPECT_EQ(std::string(to_string(Status::kOk)), "ok");
    EXPECT_EQ(std::string(to_string(Status::kBadShape)), "bad_shape");
    EXPECT_EQ(std::string(to_string(Status::kBadArgument)), "bad_argument");
    EXPECT_EQ(std::string(to_string(Status::kNoKernelForConfig)), "no_kernel_for_config");
    EXPECT_EQ(std::string(to_string(Status::kCudaError)), "cuda_error");
    EXPECT_EQ(std::string(to_string(static_cast<Status>(99))), "unknown_status");
}

#if LOWBIT_HAVE_CUDA

TEST(Device, AgreesWithTheRuntimeDeviceCount) {
    // The contract, asked of the CUDA runtime directly: available <=> cudaGetDeviceCount succeeds
    // with at least one device. Either answer of the machine is checked, not just "no crash".
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    const bool expected = err == cudaSuccess && count > 0;
    (void)cudaGetLastError();  // our own query's error, if any, is not the one under test
    for (int call = 0; call < 2; ++call) {  // the answer is recomputed on every call
        EXPECT_EQ(cuda_device_available(), expected)
            << "call " << call << "; cudaGetDeviceCount: " << cudaGetErrorName(err) << ", " << count
            << " device(s)";
    }
}

TEST(Device, HiddenDevicesAnswerFalse) {
    // CUDA_VISIBLE_DEVICES="" hides every device from a process whose runtime starts after it is
    // set: a fresh process (the death-test child, re-executed) must then answer false, on a GPU
    // machine too.
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            ::setenv("CUDA_VISIBLE_DEVICES", "", 1);
            std::exit(cuda_device_available() ? 1 : 0);
        },
        ::testing::ExitedWithCode(0),
        "");
}

#else

TEST(Device, BuiltWithoutCudaAnswersFalse) {
    EXPECT_FALSE(cuda_device_available());
}

#endif

}  // namespace
}  // namespace lowbit::kernels
