// Learning-rate schedule (see lr_schedule.h).
#include "lowbit/train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace lowbit::train {

double learning_rate_at(int64_t step, const config::TrainSpec& spec) {
    if (step < spec.warmup_steps) {
        return spec.lr * static_cast<double>(step + 1) / static_cast<double>(spec.warmup_steps + 1);
    }
    if (spec.schedule == config::Schedule::kConstant) {
        return spec.lr;
    }
    const int64_t decay_steps = std::max<int64_t>(1, spec.steps - 1 - spec.warmup_steps);
    const double progress = std::clamp(
        static_cast<double>(step - spec.warmup_steps) / static_cast<double>(decay_steps), 0.0, 1.0);
    const double decay = spec.schedule == config::Schedule::kCosine
                             ? 0.5 * (1.0 + std::cos(std::numbers::pi * progress))
                             : 1.0 - progress;
    return spec.min_lr + decay * (spec.lr - spec.min_lr);
}

}  // namespace lowbit::train
