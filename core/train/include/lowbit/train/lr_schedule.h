// Learning-rate schedule: linear warmup from lr/(warmup+1) to lr, then cosine, linear or constant
// decay to min_lr at the last step (the nanoGPT shape, so results compare with its reports).
#pragma once

#include "lowbit/config/recipe.h"

#include <cstdint>

namespace lowbit::train {

// `step` is the 0-based index of the optimizer step about to be taken.
double learning_rate_at(int64_t step, const config::TrainSpec& spec);

}  // namespace lowbit::train
