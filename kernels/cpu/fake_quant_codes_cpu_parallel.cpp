// fake_quant_codes_cpu_parallel: int8 codes and scales of symmetric round-to-nearest groups that
// fit in the cache (per row, per group, per token), one run of whole groups per task on the
// kernels' thread pool, each group reduced and coded while it is cached (docs/kernels.md §Fake
// quantization on the CPU). What the int8 forward GEMM multiplies; bit-identical to
// fake_quant_codes_ref for every thread count.
#include "lowbit/kernels/fake_quant.h"

#include <algorithm>

#include "common/fake_quant_layout.h"
#include "common/quant_math.h"
#include "cpu/fake_quant_simd.h"
#include "cpu/parallel_for.h"

namespace lowbit::kernels {
namespace {

// Groups up to this size (16 Ki floats, 64 KiB) stay in L2 between their reduction and coding.
constexpr std::int64_t kCodesGroupLimit = std::int64_t{1} << 14;

}  // namespace

Status fake_quant_codes_cpu_parallel(const float* x,
                                     std::int64_t rows,
                                     std::int64_t cols,
                                     const FakeQuantParams& params,
                                     std::int8_t* codes,
                                     float* scales,
                                     float* zero_points,
                                     int num_threads) {
    const Status status = fake_quant_check_args(params, rows, cols);
    if (status != Status::kOk) {
        return status;
    }
    const QuantBounds bounds =
        quant_bounds(params.bits, params.symmetric, params.grid, params.is_signed);
    const FakeQuantLayout layout = fake_quant_layout(params, rows, cols);
    if (!params.symmetric || params.rounding != Rounding::kNearest || bounds.qn < -128.0f ||
        bounds.qp > 127.0f || layout.group_len > kCodesGroupLimit) {
        return Status::kNoKernelForConfig;
    }
    if (layout.n == 0) {
        return Status::kOk;
    }
    if (x == nullptr || codes == nullptr || scales == nullptr) {
        return Status::kBadArgument;
    }
    const int slots = cpu_threads_for_work(cpu_resolve_threads(num_threads), layout.n);
    parallel_for_blocks(layout.num_groups, slots, [&](std::int64_t g0, std::int64_t g1, int) {
        const std::int64_t begin = g0 * layout.group_len;
        simd_codes_groups_symmetric(x + begin,
                                    codes + begin,
                                    g1 - g0,
                                    layout.group_len,
                                    bounds,
                                    params.min_range,
                                    scales + g0);
        if (zero_points != nullptr) {
            std::fill(zero_points + g0, zero_points + g1, 0.0f);  // symmetric: z = +0
        }
    });
    return Status::kOk;
}

}  // namespace lowbit::kernels
