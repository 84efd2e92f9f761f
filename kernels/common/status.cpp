// to_string(Status): stable names for log lines and test failure messages.
#include "lowbit/kernels/status.h"

namespace lowbit::kernels {

const char* to_string(Status status) {
    switch (status) {
        case Status::kOk:
            return "ok";
        case Status::kBadShape:
            return "bad_shape";
        case Status::kBadArgument:
            return "bad_argument";
        case Status::kNoKernelForConfig:
            return "no_kernel_for_config";
        case Status::kCudaError:
            return "cuda_error";
    }
    return "unknown_status";
}

}  // namespace lowbit::kernels
