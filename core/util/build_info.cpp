// Build info: version, commit, compiler and the LibTorch/CUDA the engine was built against.
#include "lowbit/util/build_info.h"

#include <torch/torch.h>

#include "build_info_values.h"
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace lowbit::util {

std::string version_string() {
    return std::string(LOWBIT_VERSION_STRING) + " (commit " + LOWBIT_GIT_COMMIT + ", " +
           LOWBIT_BUILD_TYPE + ")";
}

std::string build_info_json() {
    nlohmann::json info;
    info["version"] = LOWBIT_VERSION_STRING;
    info["commit"] = LOWBIT_GIT_COMMIT;
    info["build_type"] = LOWBIT_BUILD_TYPE;
    info["torch"] = TORCH_VERSION;
    info["torch_pinned"] = LOWBIT_TORCH_PINNED;
    info["cuda_available"] = torch::cuda::is_available();
    info["compiler"] = __VERSION__;
    return info.dump();
}

std::string host_name() {
    char buffer[256] = {};
    if (gethostname(buffer, sizeof(buffer) - 1) != 0) {
        return "unknown";
    }
    return buffer;
}

}  // namespace lowbit::util
