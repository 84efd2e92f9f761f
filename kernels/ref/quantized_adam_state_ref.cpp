// Stored Adam-moment format (quantized_adam_state.h): argument checks and layout shared by every
// path, and the scalar references of quantize / dequantize, written out literally from the
// formulas of docs/quantized-pretraining.md §Symmetric and asymmetric scales (absmax or min-max
// per group, round half to even, codes offset by -Qn) without the helpers that
// the CPU-parallel and CUDA paths share, so they are an independent check of those paths.
#include "lowbit/kernels/quantized_adam_state.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace lowbit::kernels {
namespace {

// The integer grid of a format: [Qn, Qp] and the step divisor (docs/quantized-pretraining.md
// §Integer grids, §Symmetric and asymmetric scales).
struct RefStateGrid {
    float qn;
    float qp;
    float divisor;
};

// [Qn, Qp] is the format table's (code_range); the divisors are written out here.
RefStateGrid ref_state_grid(const StateQuantFormat& f) {
    const CodeRange r = code_range(f.grid, f.bits, f.symmetric);
    const float qn = static_cast<float>(r.qn);
    const float qp = static_cast<float>(r.qp);
    if (f.symmetric) {
        return {qn, qp, qp};  // s = absmax / Qp
    }
    if (f.grid == QuantGrid::kReference) {
        return {qn, qp, 2.0f * qp};  // s = (max - min) / (2 Qp)
    }
    return {qn, qp, qp};  // s = (max - min) / (2^b - 1), unsigned codes
}

}  // namespace

Status state_quant_check_args(const StateQuantFormat& format,
                              std::int64_t rows,
                              std::int64_t cols) {
    if (format.bits < 2 || format.bits > 8) {
        return Status::kBadArgument;
    }
    if (!(std::isfinite(format.min_range) && format.min_range > 0.0f)) {
        return Status::kBadArgument;
    }
    if (!is_valid(format.grid)) {
        return Status::kBadArgument;
    }
    // Only the granularities a checkpoint may hold: those stored_state_granularity keeps as they
    // are (per_token and per_group have no stored spelling of their own).
    if (!is_valid(format.granularity) ||
        stored_state_granularity(format.granularity) != format.granularity) {
        return Status::kBadArgument;
    }
    if (granularity_traits(format.granularity).groups == ScaleGroups::kFlatBlocks &&
        format.block_size < 1) {
        return Status::kBadArgument;
    }
    if (rows < 0 || cols < 0) {
        return Status::kBadShape;
    }
    return Status::kOk;
}

StateQuantLayout state_quant_layout(const StateQuantFormat& format,
                                    std::int64_t rows,
                                    std::int64_t cols) {
    StateQuantLayout layout;
    layout.n = rows * cols;
    layout.packed = stored_code_bits(format.bits) < 8;
    layout.code_bytes = stored_code_bytes(layout.n, format.bits);
    if (layout.n == 0) {
        return layout;  // no group, no scale
    }
    switch (granularity_traits(format.granularity).groups) {
        case ScaleGroups::kWhole:
            layout.group_len = layout.n;
            break;
        case ScaleGroups::kRows:
            layout.group_len = cols;
            break;
        case ScaleGroups::kRowGroups:  // not stored (state_quant_check_args)
        case ScaleGroups::kFlatBlocks:
            layout.group_len = std::min(format.block_size, layout.n);
            break;
    }
    layout.num_groups = stored_group_count(layout.n, layout.group_len);
    return layout;
}

FakeQuantParams state_group_fake_quant_params(const StateQuantFormat& format) {
    FakeQuantParams params;
    params.bits = format.bits;
    params.symmetric = format.symmetric;
    params.grid = format.grid;
    params.granularity = Granularity::kPerTensor;
    params.rounding = Rounding::kNearest;
    params.min_range = format.min_range;
    return params;
}

namespace {

// The checks every reference state call makes: the format (before the layout, which divides
// by the block size), then for a non-empty state the float buffer and the code, scale and
// zero-point buffers it reads or writes. Sets *layout when the format is valid.
Status check_state_call(const StateQuantFormat& format,
                        std::int64_t rows,
                        std::int64_t cols,
                        const void* values,
                        const void* codes,
                        const void* scales,
                        const void* zero_points,
                        StateQuantLayout* layout) {
    const Status status = state_quant_check_args(format, rows, cols);
    if (status != Status::kOk) {
        return status;
    }
    *layout = state_quant_layout(format, rows, cols);
    if (layout->n == 0) {
        return Status::kOk;
    }
    if (values == nullptr || codes == nullptr || scales == nullptr ||
        (!format.symmetric && zero_points == nullptr)) {
        return Status::kBadArgument;
    }
    return Status::kOk;
}

}  // namespace

Status state_quantize_ref(const float* x,
                          std::int64_t rows,
                          std::int64_t cols,
                          const StateQuantFormat& format,
                          SecondMomentMapping mapping,
                          QuantizedStateBuffers out) {
    StateQuantLayout layout;
    const Status status =
        check_state_call(format, rows, cols, x, out.codes, out.scales, out.zero_points, &layout);
    if (status != Status::kOk || layout.n == 0) {
        return status;
    }
    const RefStateGrid grid = ref_state_grid(format);
    // The quantized domain: x, or sqrt(x) for the second-moment sqrt mapping.
    std::vector<float> u(static_cast<std::size_t>(layout.n));
    for (std::int64_t i = 0; i < layout.n; ++i) {
        u[i] = mapping == SecondMomentMapping::kSqrt ? std::sqrt(x[i]) : x[i];
    }
    std::fill(out.codes, out.codes + layout.code_bytes, std::uint8_t{0});
    for (std::int64_t grp = 0; grp < layout.num_groups; ++grp) {
        const std::int64_t begin = grp * layout.group_len;
        const std::int64_t end = std::min(layout.n, begin + layout.group_len);
        float s = 0.0f;
        float z = 0.0f;
        if (format.symmetric) {
            float absmax = 0.0f;
            for (std::int64_t i = begin; i < end; ++i) {
                absmax = std::max(absmax, std::fabs(u[i]));
            }
            s = std::max(absmax, format.min_range) / grid.divisor;  // s = max(|x|, r_min) / Qp
        } else {
            float lo = u[begin];
            float hi = u[begin];
            for (std::int64_t i = begin; i < end; ++i) {
                lo = std::min(lo, u[i]);
                hi = std::max(hi, u[i]);
            }
            s = std::max(hi - lo, format.min_range) / grid.divisor;
            z = std::nearbyint(lo / s - grid.qn);  // z = round(min/s - Qn); full grid: z = -zp
        }
        out.scales[grp] = s;
        if (!format.symmetric) {
            out.zero_points[grp] = z;
        }
        for (std::int64_t i = begin; i < end; ++i) {
            const float t = format.symmetric ? u[i] / s : u[i] / s - z;
            const float q = std::nearbyint(std::clamp(t, grid.qn, grid.qp));
            const int code = std::isnan(q) ? 0 : static_cast<int>(q - grid.qn);
            if (layout.packed) {
                out.codes[i / 2] |= static_cast<std::uint8_t>(i % 2 == 0 ? code : code << 4);
            } else {
                out.codes[i] = static_cast<std::uint8_t>(code);
            }
        }
    }
    return Status::kOk;
}

Status state_dequantize_ref(const QuantizedStateBuffers& state,
                            std::int64_t rows,
                            std::int64_t cols,
                            const StateQuantFormat& format,
                            SecondMomentMapping mapping,
                            float* out) {
    StateQuantLayout layout;
    const Status status = check_state_call(
        format, rows, cols, out, state.codes, state.scales, state.zero_points, &layout);
    if (status != Status::kOk || layout.n == 0) {
        return status;
    }
    const RefStateGrid grid = ref_state_grid(format);
    for (std::int64_t i = 0; i < layout.n; ++i) {
        const std::int64_t grp = i / layout.group_len;
        const int code = layout.packed
                             ? (i % 2 == 0 ? state.codes[i / 2] & 0xF : state.codes[i / 2] >> 4)
                             : state.codes[i];
        const float q = static_cast<float>(code) + grid.qn;
        const float s = state.scales[grp];
        const float value = format.symmetric ? q * s : (q + state.zero_points[grp]) * s;
        out[i] = mapping == SecondMomentMapping::kSqrt ? value * value : value;
    }
    return Status::kOk;
}

}  // namespace lowbit::kernels
