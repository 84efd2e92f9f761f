// fake_quant_ref / fake_quant_codes_ref: the formulas of docs/quantized-pretraining.md §Linear
// quantization written out literally in float32, one group and one element at a time, with each
// grid's own formula (no shared helper), so it is an independent check of the CPU-parallel and
// CUDA paths.
#include "lowbit/kernels/counter_hash.h"
#include "lowbit/kernels/fake_quant.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/fake_quant_layout.h"

namespace lowbit::kernels {
namespace {

// Grid constants of both grids (docs/quantized-pretraining.md §Integer grids), as float32 like
// the PyTorch code's Python ints.
struct RefGrid {
    float qn;
    float qp;
};

// The integer range is the format table's (code_range, pinned by its static_asserts); the scale
// and rounding arithmetic below stays written out.
RefGrid ref_grid(const FakeQuantParams& p) {
    const CodeRange r = code_range(p.grid, p.bits, p.symmetric, p.is_signed);
    return {static_cast<float>(r.qn), static_cast<float>(r.qp)};
}

// round() of the code: torch.round (half to even) or stochastic floor(v + u), capped at qp.
float ref_round(float v, const FakeQuantParams& p, RefGrid g, std::int64_t index) {
    if (p.rounding == Rounding::kNearest) {
        return std::nearbyint(v);
    }
    const float u = counter_hash_uniform(p.seed, static_cast<std::uint64_t>(index));
    return std::min(std::floor(v + u), g.qp);
}

// Scale s and zero point (z for the reference grid, zp for the full grid) of x[begin, end).
void ref_group_params(const float* x,
                      std::int64_t begin,
                      std::int64_t end,
                      const FakeQuantParams& p,
                      float* s,
                      float* zero) {
    const RefGrid g = ref_grid(p);
    if (p.symmetric) {
        float absmax = 0.0f;
        for (std::int64_t i = begin; i < end; ++i) {
            absmax = std::max(absmax, std::fabs(x[i]));
        }
        *s = std::max(absmax, p.min_range) / g.qp;  // s = max(max|x|, r_min) / Qp
        *zero = 0.0f;
        return;
    }
    float lo = x[begin];
    float hi = x[begin];
    for (std::int64_t i = begin; i < end; ++i) {
        lo = std::min(lo, x[i]);
        hi = std::max(hi, x[i]);
    }
    if (p.grid == QuantGrid::kReference) {
        *s = std::max(hi - lo, p.min_range) / (2.0f * g.qp);  // s = max(max-min, r_min) / (2*Qp)
        *zero = std::nearbyint(lo / *s - g.qn);               // z = round(min/s - Qn)
    } else {
        *s = std::max(hi - lo, p.min_range) / g.qp;  // s = max(max-min, r_min) / (2^b - 1)
        *zero = std::nearbyint(-lo / *s);            // zp = round(-min/s)
    }
}

// The integer code q of x[i] (a float holding an integer).
float ref_code(float xi, float s, float zero, const FakeQuantParams& p, std::int64_t i) {
    const RefGrid g = ref_grid(p);
    if (p.symmetric) {
        return ref_round(std::clamp(xi / s, g.qn, g.qp), p, g, i);  // round(clamp(x/s, Qn, Qp))
    }
    if (p.grid == QuantGrid::kReference) {
        return ref_round(std::clamp(xi / s - zero, g.qn, g.qp), p, g, i);  // clamp(x/s - z)
    }
    return ref_round(std::clamp(xi / s + zero, g.qn, g.qp), p, g, i);  // clamp(x/s + zp, 0, 2^b-1)
}

float ref_dequant(float q, float s, float zero, const FakeQuantParams& p) {
    if (p.symmetric) {
        return q * s;  // x^ = q*s
    }
    return p.grid == QuantGrid::kReference ? (q + zero) * s   // x^ = (q + z)*s
                                           : (q - zero) * s;  // x^ = (q - zp)*s
}

}  // namespace

Status fake_quant_ref(const float* x,
                      std::int64_t rows,
                      std::int64_t cols,
                      const FakeQuantParams& params,
                      float* out,
                      float* scales,
                      float* zero_points) {
    FakeQuantLayout layout{};
    const Status status = fake_quant_call_layout(params, rows, cols, x, out, &layout);
    if (status != Status::kOk) {
        return status;
    }
    // Pass 1 for every group before pass 2, so `out` may alias `x`.
    std::vector<float> s(static_cast<std::size_t>(layout.num_groups));
    std::vector<float> zero(static_cast<std::size_t>(layout.num_groups));
    for (std::int64_t grp = 0; grp < layout.num_groups; ++grp) {
        const std::int64_t begin = grp * layout.group_len;
        ref_group_params(x, begin, begin + layout.group_len, params, &s[grp], &zero[grp]);
    }
    for (std::int64_t i = 0; i < layout.n; ++i) {
        const std::int64_t grp = i / layout.group_len;
        const float q = ref_code(x[i], s[grp], zero[grp], params, i);
        out[i] = ref_dequant(q, s[grp], zero[grp], params);
    }
    for (std::int64_t grp = 0; grp < layout.num_groups; ++grp) {
        if (scales != nullptr) {
            scales[grp] = s[grp];
        }
        if (zero_points != nullptr) {
            zero_points[grp] = zero[grp];
        }
    }
    return Status::kOk;
}

Status fake_quant_codes_ref(const float* x,
                            std::int64_t rows,
                            std::int64_t cols,
                            const FakeQuantParams& params,
                            std::int8_t* codes,
                            float* scales,
                            float* zero_points) {
    const Status status = fake_quant_check_args(params, rows, cols);
    if (status != Status::kOk) {
        return status;
    }
    if (ref_grid(params).qp > 127) {
        return Status::kNoKernelForConfig;  // 8-bit unsigned codes 0..255 do not fit int8
    }
    const FakeQuantLayout layout = fake_quant_layout(params, rows, cols);
    if (layout.n > 0 &&
        (x == nullptr || codes == nullptr || scales == nullptr || zero_points == nullptr)) {
        return Status::kBadArgument;
    }
    for (std::int64_t grp = 0; grp < layout.num_groups; ++grp) {
        const std::int64_t begin = grp * layout.group_len;
        ref_group_params(
            x, begin, begin + layout.group_len, params, &scales[grp], &zero_points[grp]);
    }
    for (std::int64_t i = 0; i < layout.n; ++i) {
        const std::int64_t grp = i / layout.group_len;
        const float q = ref_code(x[i], scales[grp], zero_points[grp], params, i);
        codes[i] = std::isnan(q) ? std::int8_t{0} : static_cast<std::int8_t>(q);
    }
    return Status::kOk;
}

}  // namespace lowbit::kernels
