// int8_rescale_cpu_parallel: the int8 GEMM's rescale on the kernels' thread pool, whole rows per
// task, each row one call of the vector loop.
#include "lowbit/kernels/int8_rescale.h"

#include "cpu/int8_rescale_simd.h"
#include "cpu/parallel_for.h"

namespace lowbit::kernels {

Status int8_rescale_cpu_parallel(const std::int32_t* sums,
                                 std::int64_t rows,
                                 std::int64_t cols,
                                 const float* row_scales,
                                 std::int64_t num_row_scales,
                                 const float* col_scales,
                                 std::int64_t num_col_scales,
                                 const float* bias,
                                 float* out,
                                 int num_threads) {
    if (rows < 0 || cols < 0) {
        return Status::kBadShape;
    }
    if (rows == 0 || cols == 0) {
        return Status::kOk;
    }
    if (sums == nullptr || row_scales == nullptr || col_scales == nullptr || out == nullptr ||
        (num_row_scales != 1 && num_row_scales != rows) ||
        (num_col_scales != 1 && num_col_scales != cols)) {
        return Status::kBadArgument;
    }
    const bool per_row = num_row_scales != 1;
    const bool per_column = num_col_scales != 1;
    const int threads = cpu_threads_for_work(cpu_resolve_threads(num_threads), rows * cols);
    parallel_for_blocks(rows, threads, [&](std::int64_t r0, std::int64_t r1, int) {
        for (std::int64_t r = r0; r < r1; ++r) {
            simd_rescale_row(sums + r * cols,
                             cols,
                             row_scales[per_row ? r : 0],
                             col_scales,
                             per_column,
                             bias,
                             out + r * cols);
        }
    });
    return Status::kOk;
}

}  // namespace lowbit::kernels
