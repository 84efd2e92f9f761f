// Private: every granularity fake quantization accepts, by its ScaleGroups (quant_format.h), as
// "num_groups contiguous groups of group_len values" of the row-major (rows, cols) buffer: whole
// (1, rows*cols), rows (rows, cols: per_channel and per_token), row groups
// (rows*cols/group_size, group_size). Groups never straddle rows because cols % group_size == 0.
#pragma once

#include "lowbit/kernels/fake_quant.h"

#include <cstdint>

namespace lowbit::kernels {

struct FakeQuantLayout {
    std::int64_t n;           // rows * cols
    std::int64_t num_groups;  // scales to compute
    std::int64_t group_len;   // values per group; group g is [g*group_len, (g+1)*group_len)
};

/// Call only after fake_quant_check_args returned kOk.
FakeQuantLayout fake_quant_layout(const FakeQuantParams& params,
                                  std::int64_t rows,
                                  std::int64_t cols);

/// The start every fake-quant implementation shares: kOk and *layout when (params, rows, cols)
/// pass fake_quant_check_args and, unless the buffer is empty (layout->n == 0: nothing to do), x
/// and out are given; otherwise why not (kBadArgument for a missing buffer).
Status fake_quant_call_layout(const FakeQuantParams& params,
                              std::int64_t rows,
                              std::int64_t cols,
                              const void* x,
                              const void* out,
                              FakeQuantLayout* layout);

}  // namespace lowbit::kernels
