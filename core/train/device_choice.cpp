// device_choice (see device_choice.h).
#include "lowbit/train/device_choice.h"

#include "lowbit/util/exit_codes.h"

namespace lowbit::train {

config::DeviceChoice device_choice_from_string(const std::string& text) {
    if (text == "auto")
        return config::DeviceChoice::kAuto;
    if (text == "cpu")
        return config::DeviceChoice::kCpu;
    if (text == "cuda")
        return config::DeviceChoice::kCuda;
    throw util::BadInput("--device '" + text + "' is not one of auto, cpu, cuda");
}

torch::Device resolve_device(config::DeviceChoice choice, const dist::LaunchEnvironment& launch) {
    const bool cuda = torch::cuda::is_available();
    const auto cuda_index = [&] {
        return static_cast<c10::DeviceIndex>(
            launch.cuda_device(static_cast<int>(torch::cuda::device_count())));
    };
    switch (choice) {
        case config::DeviceChoice::kCpu:
            return torch::Device(torch::kCPU);
        case config::DeviceChoice::kCuda:
            if (!cuda) {
                throw util::BadInput(
                    "train.device is 'cuda' but no CUDA device is available on this machine "
                    "(use 'auto' or 'cpu')");
            }
            return torch::Device(torch::kCUDA, cuda_index());
        case config::DeviceChoice::kAuto:
            break;
    }
    return cuda ? torch::Device(torch::kCUDA, cuda_index()) : torch::Device(torch::kCPU);
}

}  // namespace lowbit::train
