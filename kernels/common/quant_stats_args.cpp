// quant_stats_check_args, the histogram sizes, and the host side of the device result block
// (its size and quant_stats_decode), compiled in every build so a CPU-only build can still read
// a block that a CUDA build wrote.
#include "lowbit/kernels/quant_stats.h"
#include "lowbit/kernels/tensor_stats.h"

#include <cstring>
#include <limits>

#include "common/quant_stats_math.h"

namespace lowbit::kernels {
namespace {

// Inverse of float_to_ordered_key (cuda/common.cuh): the key order is the float order.
float key_to_float(unsigned int key) {
    const std::uint32_t bits = (key & 0x80000000u) ? (key & 0x7FFFFFFFu) : ~key;
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    return f;
}

}  // namespace

int quant_stats_second_bins(const QuantStatsSpec& spec, const FakeQuantParams* params) {
    if (params != nullptr) {
        // One bin per code of the grid: 2^bits on either grid, signed or not.
        const CodeRange r =
            code_range(params->grid, params->bits, params->symmetric, params->is_signed);
        return r.qp - r.qn + 1;
    }
    return spec.log2_max_exponent - spec.log2_min_exponent + 1;
}

Status quant_stats_check_args(const QuantStatsSpec& spec,
                              const FakeQuantParams* params,
                              std::int64_t rows,
                              std::int64_t cols) {
    if (rows < 0 || cols < 0) {
        return Status::kBadShape;
    }
    if (params != nullptr) {
        const Status status = fake_quant_check_args(*params, rows, cols);
        if (status != Status::kOk) {
            return status;
        }
    }
    if (spec.uniform_bins < 1 || spec.uniform_bins > kMaxHistogramBins) {
        return Status::kBadArgument;
    }
    // Finite float exponents lie in [-149, 127]; a wider range only adds empty bins.
    if (spec.log2_min_exponent > spec.log2_max_exponent || spec.log2_min_exponent < -160 ||
        spec.log2_max_exponent > 160) {
        return Status::kBadArgument;
    }
    return Status::kOk;
}

std::size_t quant_stats_result_bytes(const QuantStatsSpec& spec, const FakeQuantParams* params) {
    const std::size_t bins = static_cast<std::size_t>(spec.uniform_bins) +
                             static_cast<std::size_t>(quant_stats_second_bins(spec, params));
    const std::size_t bytes = sizeof(QuantStatsAccum) + sizeof(unsigned long long) * bins;
    return (bytes + kQuantStatsResultAlign - 1) / kQuantStatsResultAlign * kQuantStatsResultAlign;
}

Status quant_stats_decode(const void* result_host,
                          const FakeQuantParams* params,
                          const QuantStatsSpec& spec,
                          QuantStats* stats,
                          std::int64_t* uniform_counts,
                          std::int64_t* second_counts) {
    if (result_host == nullptr || stats == nullptr || uniform_counts == nullptr ||
        second_counts == nullptr) {
        return Status::kBadArgument;
    }
    const auto* bytes = static_cast<const unsigned char*>(result_host);
    QuantStatsAccum a;
    std::memcpy(&a, bytes, sizeof(a));
    QuantStats s;
    s.nan_count = static_cast<std::int64_t>(a.nan_count);
    s.inf_count = static_cast<std::int64_t>(a.inf_count);
    s.n = static_cast<std::int64_t>(a.finite_count) + s.nan_count + s.inf_count;
    s.zero_count = static_cast<std::int64_t>(a.zero_count);
    s.sum = a.sum;
    s.sumsq = a.sumsq;
    s.sum_cube = a.sum_cube;
    s.sum_quad = a.sum_quad;
    if (a.finite_count > 0) {
        s.min = key_to_float(a.min_key);
        s.max = key_to_float(a.max_key);
    } else {
        s.min = std::numeric_limits<float>::quiet_NaN();
        s.max = std::numeric_limits<float>::quiet_NaN();
    }
    if (params != nullptr) {
        s.error_sumsq = a.error_sumsq;
        s.clipped_low = static_cast<std::int64_t>(a.clipped_low);
        s.clipped_high = static_cast<std::int64_t>(a.clipped_high);
        s.underflow_count = static_cast<std::int64_t>(a.underflow_count);
        // No group (an empty buffer) leaves the keys at their initial values: report 0.
        const bool any_group = a.scale_max_key != 0u;
        s.scale_min = any_group ? key_to_float(a.scale_min_key) : 0.0f;
        s.scale_max = any_group ? key_to_float(a.scale_max_key) : 0.0f;
    }
    s.second_low = static_cast<std::int64_t>(a.second_low);
    s.second_high = static_cast<std::int64_t>(a.second_high);
    const unsigned char* counts = bytes + sizeof(QuantStatsAccum);
    const int second_bins = quant_stats_second_bins(spec, params);
    for (int b = 0; b < spec.uniform_bins; ++b) {
        unsigned long long c = 0;
        std::memcpy(&c, counts + sizeof(c) * static_cast<std::size_t>(b), sizeof(c));
        uniform_counts[b] = static_cast<std::int64_t>(c);
    }
    counts += sizeof(unsigned long long) * static_cast<std::size_t>(spec.uniform_bins);
    for (int b = 0; b < second_bins; ++b) {
        unsigned long long c = 0;
        std::memcpy(&c, counts + sizeof(c) * static_cast<std::size_t>(b), sizeof(c));
        second_counts[b] = static_cast<std::int64_t>(c);
    }
    *stats = s;
    return Status::kOk;
}

}  // namespace lowbit::kernels
