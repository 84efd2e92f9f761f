// Scalar reference of the packed linear (docs/efficientqat.md §Packed layout): the definition the
// CPU and CUDA paths are tested against.
#include "lowbit/kernels/packed_linear.h"

#include "common/packed_weight_math.h"

namespace lowbit::kernels {

Status packed_dequantize_ref(const PackedWeightView& w, float* weight) {
    if (const Status s = check_packed_weight(w); s != Status::kOk) {
        return s;
    }
    if (weight == nullptr) {
        return Status::kBadArgument;
    }
    for (std::int64_t o = 0; o < w.out; ++o) {
        for (std::int64_t i = 0; i < w.in; ++i) {
            const std::int64_t g = i / w.group_size;
            const auto q = static_cast<float>(packed_code(w.qweight, w.out, w.bits, i, o));
            const auto z = static_cast<float>(packed_zero(w.qzeros, w.out, w.bits, g, o));
            weight[o * w.in + i] = (q - z) * w.scales[g * w.out + o];
        }
    }
    return Status::kOk;
}

Status packed_linear_ref(
    const float* x, std::int64_t batch, const PackedWeightView& w, const float* bias, float* y) {
    if (const Status s = check_packed_weight(w); s != Status::kOk) {
        return s;
    }
    if (x == nullptr || y == nullptr || batch <= 0) {
        return Status::kBadArgument;
    }
    for (std::int64_t b = 0; b < batch; ++b) {
        for (std::int64_t o = 0; o < w.out; ++o) {
            y[b * w.out + o] =
                packed_column_dot(x + b * w.in, w, o) + (bias != nullptr ? bias[o] : 0.0F);
        }
    }
    return Status::kOk;
}

}  // namespace lowbit::kernels
