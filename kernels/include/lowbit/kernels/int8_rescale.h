// The int32 -> float32 rescale that ends an int8 GEMM (docs/quantized-pretraining.md §Int8
// forward GEMM): y[i, j] = (float(sums[i, j]) · row_scales[i]) · col_scales[j] + bias[j], in one
// pass over the sums, each operation rounded once in that order, which is how LibTorch's chain
// mul(sums, row_scales), mul_(col_scales), add_(bias) rounds it.
#pragma once

#include "lowbit/kernels/status.h"

#include <cstdint>

namespace lowbit::kernels {

/// @param sums (rows, cols) int32, row-major.
/// @param row_scales (num_row_scales,): rows values, or 1 for all rows.
/// @param col_scales (num_col_scales,): cols values, or 1 for all columns.
/// @param bias (cols,) or null (no addition).
/// @param out (rows, cols) float32, row-major; must not overlap sums.
/// @param num_threads <= 0: the installed backend's thread count (parallel.h).
/// @return kBadArgument for a null pointer or a scale count that is neither 1 nor the size,
///   kBadShape for negative sizes.
Status int8_rescale_cpu_parallel(const std::int32_t* sums,
                                 std::int64_t rows,
                                 std::int64_t cols,
                                 const float* row_scales,
                                 std::int64_t num_row_scales,
                                 const float* col_scales,
                                 std::int64_t num_col_scales,
                                 const float* bias,
                                 float* out,
                                 int num_threads = 0);

}  // namespace lowbit::kernels
