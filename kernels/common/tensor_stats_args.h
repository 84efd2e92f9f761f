// Private: argument validation shared by tensor_stats_ref, tensor_stats_cpu_parallel and
// launch_tensor_stats, so every path rejects the same inputs with the same Status.
#pragma once

#include "lowbit/kernels/tensor_stats.h"

#include <cstdint>

namespace lowbit::kernels {

Status tensor_stats_check_args(const float* x,
                               std::int64_t n,
                               const HistogramSpec& spec,
                               const TensorStats* stats,
                               const std::int64_t* counts);

}  // namespace lowbit::kernels
