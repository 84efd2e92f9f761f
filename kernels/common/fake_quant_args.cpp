// fake_quant_check_args / fake_quant_num_groups: the shape and option checks every fake-quant
// path runs first, so the reference, CPU and CUDA versions reject exactly the same requests.
#include "lowbit/kernels/fake_quant.h"

#include <cmath>

#include "common/fake_quant_layout.h"

namespace lowbit::kernels {

Status fake_quant_check_args(const FakeQuantParams& params, std::int64_t rows, std::int64_t cols) {
    if (params.bits < 2 || params.bits > 8) {
        return Status::kBadArgument;
    }
    if (!(std::isfinite(params.min_range) && params.min_range > 0.0f)) {
        return Status::kBadArgument;
    }
    if (!is_valid(params.grid) || !is_valid(params.rounding)) {
        return Status::kBadArgument;
    }
    if (!params.is_signed && !grid_allows_unsigned(params.grid)) {
        return Status::kBadArgument;
    }
    if (rows < 0 || cols < 0) {
        return Status::kBadShape;
    }
    if (!is_valid(params.granularity)) {
        return Status::kBadArgument;
    }
    switch (granularity_traits(params.granularity).groups) {
        case ScaleGroups::kWhole:
        case ScaleGroups::kRows:
            return Status::kOk;
        case ScaleGroups::kRowGroups:
            if (params.group_size <= 0 || cols % params.group_size != 0) {
                return Status::kBadShape;
            }
            return Status::kOk;
        case ScaleGroups::kFlatBlocks:
            // Every fake-quant path reduces groups that never straddle rows (fake_quant_layout.h);
            // flat blocks are the layout of stored optimizer states only.
            return Status::kNoKernelForConfig;
    }
    return Status::kBadArgument;  // not reached: every ScaleGroups is handled above
}

std::int64_t fake_quant_num_groups(const FakeQuantParams& params,
                                   std::int64_t rows,
                                   std::int64_t cols) {
    if (fake_quant_check_args(params, rows, cols) != Status::kOk) {
        return -1;
    }
    return fake_quant_layout(params, rows, cols).num_groups;
}

FakeQuantLayout fake_quant_layout(const FakeQuantParams& params,
                                  std::int64_t rows,
                                  std::int64_t cols) {
    const std::int64_t n = rows * cols;
    if (n == 0) {
        return {0, 0, 0};  // an empty tensor has no group and no scale to write
    }
    switch (granularity_traits(params.granularity).groups) {
        case ScaleGroups::kRows:
            return {n, rows, cols};
        case ScaleGroups::kRowGroups:
            return {n, n / params.group_size, params.group_size};
        case ScaleGroups::kWhole:
        case ScaleGroups::kFlatBlocks:  // rejected by fake_quant_check_args
            break;
    }
    return {n, 1, n};
}

Status fake_quant_call_layout(const FakeQuantParams& params,
                              std::int64_t rows,
                              std::int64_t cols,
                              const void* x,
                              const void* out,
                              FakeQuantLayout* layout) {
    const Status status = fake_quant_check_args(params, rows, cols);
    if (status != Status::kOk) {
        return status;
    }
    *layout = fake_quant_layout(params, rows, cols);
    if (layout->n > 0 && (x == nullptr || out == nullptr)) {
        return Status::kBadArgument;
    }
    return Status::kOk;
}

}  // namespace lowbit::kernels
