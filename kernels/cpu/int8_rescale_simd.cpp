// The vector loop of int8_rescale_simd.h (Highway: foreach_target re-includes this file per SIMD
// target; HWY_DYNAMIC_DISPATCH picks the host's best). Compiled without floating-point
// contraction, so (s · r) · c + b stays three roundings, as in LibTorch's op chain.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "cpu/int8_rescale_simd.cpp"
#include "cpu/int8_rescale_simd.h"

#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();

namespace lowbit::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One element as the vector lanes compute it (the loop's tail).
template <bool kPerColumn, bool kBias>
HWY_INLINE float RescaleOne(
    std::int32_t s, float r, const float* c, const float* b, std::int64_t j) {
    const float scaled = static_cast<float>(s) * r * (kPerColumn ? c[j] : c[0]);
    return kBias ? scaled + b[j] : scaled;
}

template <bool kPerColumn, bool kBias>
HWY_INLINE void RescaleLoop(const std::int32_t* HWY_RESTRICT sums,
                            std::int64_t n,
                            float row_scale,
                            const float* HWY_RESTRICT col_scales,
                            const float* HWY_RESTRICT bias,
                            float* HWY_RESTRICT out) {
    const hn::ScalableTag<float> df;
    const hn::RebindToSigned<decltype(df)> di;
    const auto lanes = static_cast<std::int64_t>(hn::Lanes(df));
    const auto r = hn::Set(df, row_scale);
    const auto c0 = hn::Set(df, col_scales[0]);
    std::int64_t j = 0;
    for (; j + lanes <= n; j += lanes) {
        // int32 -> float rounds to nearest, as static_cast and LibTorch's type promotion do.
        auto y = hn::ConvertTo(df, hn::LoadU(di, sums + j)) * r;
        y = y * (kPerColumn ? hn::LoadU(df, col_scales + j) : c0);
        if constexpr (kBias) {
            y = y + hn::LoadU(df, bias + j);
        }
        hn::StoreU(y, df, out + j);
    }
    for (; j < n; ++j) {
        out[j] = RescaleOne<kPerColumn, kBias>(sums[j], row_scale, col_scales, bias, j);
    }
}

static void RescaleRowVector(const std::int32_t* sums,
                             std::int64_t n,
                             float row_scale,
                             const float* col_scales,
                             bool per_column,
                             const float* bias,
                             float* out) {
    if (per_column) {
        if (bias != nullptr) {
            RescaleLoop<true, true>(sums, n, row_scale, col_scales, bias, out);
        } else {
            RescaleLoop<true, false>(sums, n, row_scale, col_scales, bias, out);
        }
    } else if (bias != nullptr) {
        RescaleLoop<false, true>(sums, n, row_scale, col_scales, bias, out);
    } else {
        RescaleLoop<false, false>(sums, n, row_scale, col_scales, bias, out);
    }
}

}  // namespace lowbit::kernels::HWY_NAMESPACE

HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lowbit::kernels {

HWY_EXPORT(RescaleRowVector);

void simd_rescale_row(const std::int32_t* sums,
                      std::int64_t n,
                      float row_scale,
                      const float* col_scales,
                      bool per_column,
                      const float* bias,
                      float* out) {
    HWY_DYNAMIC_DISPATCH(RescaleRowVector)(sums, n, row_scale, col_scales, per_column, bias, out);
}

}  // namespace lowbit::kernels
#endif
