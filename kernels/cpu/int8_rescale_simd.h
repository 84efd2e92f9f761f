// Private: the vector loop of int8_rescale_cpu_parallel (docs/kernels.md §Vector loops), compiled
// for every SIMD target Highway knows and picked at run time for the host.
#pragma once

#include <cstdint>

namespace lowbit::kernels {

/// out[j] = (float(sums[j]) · row_scale) · col(j) + bias[j] for j in [0, n), with col(j) =
/// col_scales[j] when per_column, else col_scales[0]; no bias when bias is null.
void simd_rescale_row(const std::int32_t* sums,
                      std::int64_t n,
                      float row_scale,
                      const float* col_scales,
                      bool per_column,
                      const float* bias,
                      float* out);

}  // namespace lowbit::kernels
