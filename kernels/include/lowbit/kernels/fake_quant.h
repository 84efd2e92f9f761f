// Fake quantization (quantize then dequantize, all in float32) of a row-major (rows, cols) buffer,
// as docs/quantized-pretraining.md §Linear quantization describes it: the reference code's grid
// and the `full` 2^b-1-level grid, per-tensor, per-row and per-group scales, round to nearest or
// stochastic rounding. Two passes: reduce one scale (and zero point) per group, then map every x.
// Implementations: fake_quant_ref (scalar), fake_quant_cpu_parallel (std::thread, bit-identical to
// the reference) and launch_fake_quant (CUDA, bit-identical too). Also the int8-codes variant.
#pragma once

#include "lowbit/kernels/status.h"

#include <cstdint>

#if LOWBIT_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace lowbit::kernels {

enum class QuantGranularity {
    kPerTensor = 0,  ///< one group: the whole buffer
    kPerRow = 1,     ///< one group per row (last axis): per output channel for W, per token for A/G
    kPerGroup = 2,  ///< contiguous groups of group_size along the last axis; cols % group_size == 0
};

enum class QuantGrid {
    /// The paper's signed grid Qn = -2^(b-1), Qp = 2^(b-1) - 1. Asymmetric step (max-min)/(2*Qp),
    /// z = round(min/s - Qn), q = round(clamp(x/s - z, Qn, Qp)), x^ = (q + z)*s.
    kReference = 0,
    /// Standard 2^b - 1 levels. Asymmetric: step (max-min)/(2^b - 1), zero point zp =
    /// round(-min/s),
    /// unsigned codes q = round(clamp(x/s + zp, 0, 2^b - 1)), x^ = (q - zp)*s.
    /// Symmetric: identical to kReference.
    kFull = 1,
};

enum class QuantRounding {
    kNearest = 0,     ///< round half to even (std::nearbyint in the default mode; rintf on CUDA)
    kStochastic = 1,  ///< min(floor(v + u), Qp), u = counter_hash_uniform(seed, flat index)
};

/// @brief Quantizer configuration. Defaults: the paper's 8-bit symmetric per-tensor quantizer.
struct FakeQuantParams {
    int bits = 8;  ///< 2..8
    bool symmetric = true;
    QuantGrid grid = QuantGrid::kReference;
    QuantGranularity granularity = QuantGranularity::kPerTensor;
    std::int64_t group_size = 32;  ///< kPerGroup only
    QuantRounding rounding = QuantRounding::kNearest;
    /// r_min, the floor on the range (docs/quantized-pretraining.md §Range floor): 1e-5 for W and
    /// A, 1e-9 for G, 1e-8 for optimizer states. Must be finite and > 0 (so s is never 0).
    float min_range = 1e-5f;
    std::uint64_t seed = 0;  ///< stochastic rounding only
};

/// @brief Number of scales (= zero points) for this shape: 1, rows, or rows * cols / group_size.
/// Returns -1 for an invalid shape (see fake_quant_check_args).
std::int64_t fake_quant_num_groups(const FakeQuantParams& params,
                                   std::int64_t rows,
                                   std::int64_t cols);

/// @brief kOk, or why (params, rows, cols) is rejected: kBadArgument for bits outside 2..8 or a
/// bad min_range / enum; kBadShape for negative sizes or cols % group_size != 0 (kPerGroup).
Status fake_quant_check_args(const FakeQuantParams& params, std::int64_t rows, std::int64_t cols);

/// @brief Scalar reference: the formulas written out literally, in float32, one element at a time.
/// Symmetric: s = max(absmax, r_min) / Qp (float32 division), z = 0, q = round(clamp(x/s, Qn, Qp)),
/// x^ = q*s. Asymmetric as described in QuantGrid.
/// @param x, out (rows, cols) row-major host buffers; out may alias x.
/// @param scales, zero_points (num_groups,) host outputs, each optional (null = not wanted).
///        zero_points holds z (kReference: x^ = (q + z)*s) or zp (kFull: x^ = (q - zp)*s); 0 when
///        symmetric.
Status fake_quant_ref(const float* x,
                      std::int64_t rows,
                      std::int64_t cols,
                      const FakeQuantParams& params,
                      float* out,
                      float* scales,
                      float* zero_points);

/// @brief Multi-threaded CPU version; every output is bit-identical to fake_quant_ref for any
/// num_threads (0 = hardware_concurrency).
Status fake_quant_cpu_parallel(const float* x,
                               std::int64_t rows,
                               std::int64_t cols,
                               const FakeQuantParams& params,
                               float* out,
                               float* scales,
                               float* zero_points,
                               int num_threads = 0);

/// @brief Integer codes instead of dequantized values: codes (rows, cols) int8 and the per-group
/// scales/zero points (both required here). Codes lie in [Qn, Qp] for kReference and
/// [0, 2^b - 1] for kFull; full-grid asymmetric 8-bit codes (0..255) do not fit int8 and return
/// kNoKernelForConfig. Dequantize with (q + z)*s (kReference) or (q - zp)*s (kFull).
Status fake_quant_codes_ref(const float* x,
                            std::int64_t rows,
                            std::int64_t cols,
                            const FakeQuantParams& params,
                            std::int8_t* codes,
                            float* scales,
                            float* zero_points);

#if LOWBIT_HAVE_CUDA
/// @brief CUDA version on device buffers; bit-identical to fake_quant_ref. scales / zero_points
/// are optional device outputs (num_groups,); when null a stream-ordered workspace is used.
/// Asynchronous with respect to the host (no sync).
Status launch_fake_quant(const float* x_device,
                         std::int64_t rows,
                         std::int64_t cols,
                         const FakeQuantParams& params,
                         float* out_device,
                         float* scales_device,
                         float* zero_points_device,
                         cudaStream_t stream);
#endif

}  // namespace lowbit::kernels
