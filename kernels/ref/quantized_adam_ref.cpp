// quantized_adam_step_ref: the fused quantized-AdamW step written as its definition: dequantize
// both stored moments into full float32 copies, update every element with the formulas of
// quantized_adam.h (one rounding per operation), then requantize with state_quantize_ref. Also the
// argument checks and step scalars that every path shares.
#include "lowbit/kernels/quantized_adam.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace lowbit::kernels {
namespace {

Status check_moment(const AdamMoment& moment, std::int64_t rows, std::int64_t cols) {
    if (moment.format == nullptr) {
        return rows * cols > 0 && moment.values == nullptr ? Status::kBadArgument : Status::kOk;
    }
    const Status status = state_quant_check_args(*moment.format, rows, cols);
    if (status != Status::kOk || rows * cols == 0) {
        return status;
    }
    const QuantizedStateBuffers& q = moment.quantized;
    if (q.codes == nullptr || q.scales == nullptr ||
        (!moment.format->symmetric && q.zero_points == nullptr)) {
        return Status::kBadArgument;
    }
    return Status::kOk;
}

// (n,) float32 copy of a moment's current values.
std::vector<float> moment_values(const AdamMoment& moment,
                                 std::int64_t rows,
                                 std::int64_t cols,
                                 SecondMomentMapping mapping) {
    std::vector<float> values(static_cast<std::size_t>(rows * cols));
    if (moment.format == nullptr) {
        std::copy(moment.values, moment.values + rows * cols, values.begin());
    } else {
        (void)state_dequantize_ref(
            moment.quantized, rows, cols, *moment.format, mapping, values.data());
    }
    return values;
}

Status store_moment(const AdamMoment& moment,
                    const std::vector<float>& values,
                    std::int64_t rows,
                    std::int64_t cols,
                    SecondMomentMapping mapping) {
    if (moment.format == nullptr) {
        std::copy(values.begin(), values.end(), moment.values);
        return Status::kOk;
    }
    if (moment.unquantized_out != nullptr) {
        // What state_quantize_ref quantizes: the value, or its square root for kSqrt.
        for (std::size_t i = 0; i < values.size(); ++i) {
            moment.unquantized_out[i] =
                mapping == SecondMomentMapping::kSqrt ? std::sqrt(values[i]) : values[i];
        }
    }
    return state_quantize_ref(values.data(), rows, cols, *moment.format, mapping, moment.quantized);
}

}  // namespace

AdamStepScalars adam_step_scalars(
    double lr, double beta1, double beta2, double eps, double weight_decay, std::int64_t step) {
    const double t = static_cast<double>(step);
    AdamStepScalars s;
    s.beta1 = static_cast<float>(beta1);
    s.one_minus_beta1 = static_cast<float>(1.0 - beta1);
    s.beta2 = static_cast<float>(beta2);
    s.one_minus_beta2 = static_cast<float>(1.0 - beta2);
    s.decay_factor = static_cast<float>(1.0 - lr * weight_decay);
    s.step_size = static_cast<float>(lr / (1.0 - std::pow(beta1, t)));
    s.bias_correction2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(beta2, t)));
    s.eps = static_cast<float>(eps);
    return s;
}

Status quantized_adam_check_args(const QuantizedAdamArgs& args) {
    if (args.rows < 0 || args.cols < 0) {
        return Status::kBadShape;
    }
    if (args.v_mapping != SecondMomentMapping::kLinear &&
        args.v_mapping != SecondMomentMapping::kSqrt) {
        return Status::kBadArgument;
    }
    if (args.rows * args.cols > 0 && (args.param == nullptr || args.grad == nullptr)) {
        return Status::kBadArgument;
    }
    const Status m_status = check_moment(args.m, args.rows, args.cols);
    return m_status != Status::kOk ? m_status : check_moment(args.v, args.rows, args.cols);
}

Status quantized_adam_step_ref(const QuantizedAdamArgs& args) {
    const Status status = quantized_adam_check_args(args);
    if (status != Status::kOk || args.rows * args.cols == 0) {
        return status;
    }
    const std::int64_t n = args.rows * args.cols;
    const AdamStepScalars& s = args.scalars;
    std::vector<float> m =
        moment_values(args.m, args.rows, args.cols, SecondMomentMapping::kLinear);
    std::vector<float> v = moment_values(args.v, args.rows, args.cols, args.v_mapping);
    for (std::int64_t i = 0; i < n; ++i) {
        const float g = args.grad[i];
        const float decayed = args.param[i] * s.decay_factor;  // p (1 - lr wd)
        m[i] = s.beta1 * m[i] + s.one_minus_beta1 * g;         // b1 m + (1-b1) g
        v[i] = s.beta2 * v[i] + s.one_minus_beta2 * (g * g);   // b2 v + (1-b2) g^2
        const float denom = std::sqrt(v[i]) / s.bias_correction2_sqrt + s.eps;
        args.param[i] = decayed - s.step_size * (m[i] / denom);  // lr/bc1 m/denom
    }
    const Status m_status =
        store_moment(args.m, m, args.rows, args.cols, SecondMomentMapping::kLinear);
    if (m_status != Status::kOk) {
        return m_status;
    }
    return store_moment(args.v, v, args.rows, args.cols, args.v_mapping);
}

}  // namespace lowbit::kernels
