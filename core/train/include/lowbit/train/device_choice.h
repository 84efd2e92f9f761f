// Where a run computes (docs/distributed.md §Process group): the recipe's train.device or the
// command line's --device, and in a data-parallel job the CUDA device of this local rank.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/dist/launch_environment.h"

#include <torch/torch.h>

#include <string>

namespace lowbit::train {

/// auto|cpu|cuda; throws util::BadInput for anything else.
config::DeviceChoice device_choice_from_string(const std::string& text);

/// The device for `choice`: auto takes CUDA when there is one. On CUDA, each local rank of
/// `launch` takes its own device. Throws util::BadInput for cuda without a CUDA device.
torch::Device resolve_device(config::DeviceChoice choice, const dist::LaunchEnvironment& launch);

}  // namespace lowbit::train
