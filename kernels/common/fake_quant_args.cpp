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
    if (params.grid != QuantGrid::kReference && params.grid != QuantGrid::kFull) {
        return Status::kBadArgument;
    }
    if (params.rounding != QuantRounding::kNearest &&
        params.rounding != QuantRounding::kStochastic) {
        return Status::kBadArgument;
    }
    if (rows < 0 || cols < 0) {
        return Status::kBadShape;
    }
    switch (params.granularity) {
        case QuantGranularity::kPerTensor:
        case QuantGranularity::kPerRow:
            return Status::kOk;
        case QuantGranularity::kPerGroup:
            if (params.group_size <= 0 || cols % params.group_size != 0) {
                return Status::kBadShape;
            }
            return Status::kOk;
    }
    return Status::kBadArgument;
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
    switch (params.granularity) {
        case QuantGranularity::kPerRow:
            return {n, rows, cols};
        case QuantGranularity::kPerGroup:
            return {n, n / params.group_size, params.group_size};
        case QuantGranularity::kPerTensor:
            break;
    }
    return {n, 1, n};
}

}  // namespace lowbit::kernels
