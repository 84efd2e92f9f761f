// Fake quantization (quantize then dequantize, all in float32) of a row-major (rows, cols) buffer,
// as docs/quantized-pretraining.md §Linear quantization describes it: the reference code's grid
// and the `full` 2^b-1-level grid, per-tensor, per-row and per-group scales, round to nearest or
// stochastic rounding. Two passes: reduce one scale (and zero point) per group, then map every x.
// Implementations: fake_quant_ref (scalar), fake_quant_cpu_parallel (thread pool, vector loops;
// bit-identical to the reference), launch_fake_quant (CUDA, bit-identical; a bfloat16 variant).
// Int8-codes variant.
#pragma once

#include "lowbit/kernels/quant_format.h"
#include "lowbit/kernels/status.h"

#include <cstdint>

#if LOWBIT_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace lowbit::kernels {

/// @brief Quantizer configuration. Defaults: the paper's 8-bit symmetric per-tensor quantizer.
struct FakeQuantParams {
    int bits = 8;  ///< 2..8
    bool symmetric = true;
    QuantGrid grid = QuantGrid::kReference;
    /// false: the unsigned codes [0, 2^b - 1] of code_range (reference grid only).
    bool is_signed = true;
    /// Any granularity whose groups are whole, rows or row groups (quant_format.h); per_block's
    /// flat blocks straddle rows, a layout only stored optimizer states use, and is rejected.
    Granularity granularity = Granularity::kPerTensor;
    std::int64_t group_size = 32;  ///< kPerGroup only (kPerBlock: the block size of a state)
    Rounding rounding = Rounding::kNearest;
    /// r_min, the floor on the range (docs/quantized-pretraining.md §Range floor): 1e-5 for W and
    /// A, 1e-9 for G, 1e-8 for optimizer states. Must be finite and > 0 (so s is never 0).
    float min_range = 1e-5f;
    std::uint64_t seed = 0;  ///< stochastic rounding only

    /// Equal parameters quantize every tensor alike (caches and telemetry key on this).
    bool operator==(const FakeQuantParams&) const = default;
};

/// @brief Number of scales (= zero points) for this shape: 1, rows, or rows * cols / group_size.
/// Returns -1 for an invalid shape (see fake_quant_check_args).
std::int64_t fake_quant_num_groups(const FakeQuantParams& params,
                                   std::int64_t rows,
                                   std::int64_t cols);

/// @brief kOk, or why (params, rows, cols) is rejected: kBadArgument for bits outside 2..8, a
/// bad min_range / enum, or unsigned codes on a grid that has none (grid_allows_unsigned);
/// kBadShape for negative sizes or cols % group_size != 0 (kPerGroup); kNoKernelForConfig for
/// per_block (flat blocks are a stored-state layout, not fake quant's).
Status fake_quant_check_args(const FakeQuantParams& params, std::int64_t rows, std::int64_t cols);

/// @brief Scalar reference: the formulas written out literally, in float32, one element at a time.
/// [Qn, Qp] = code_range(grid, bits, symmetric, is_signed).
/// Symmetric: s = max(absmax, r_min) / Qp (float32 division), z = 0, q = round(clamp(x/s, Qn, Qp)),
/// x^ = q*s. Asymmetric as described in QuantGrid (quant_format.h).
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
/// num_threads (0 = the parallel backend's thread count, parallel.h).
Status fake_quant_cpu_parallel(const float* x,
                               std::int64_t rows,
                               std::int64_t cols,
                               const FakeQuantParams& params,
                               float* out,
                               float* scales,
                               float* zero_points,
                               int num_threads = 0);

/// @brief Integer codes instead of dequantized values: codes (rows, cols) int8 and the per-group
/// scales/zero points (both required here). Codes lie in code_range's [Qn, Qp]; 8-bit codes
/// 0..255 (full-grid asymmetric, or unsigned) do not fit int8 and return kNoKernelForConfig.
/// Dequantize with (q + z)*s (kReference) or (q - zp)*s (kFull).
Status fake_quant_codes_ref(const float* x,
                            std::int64_t rows,
                            std::int64_t cols,
                            const FakeQuantParams& params,
                            std::int8_t* codes,
                            float* scales,
                            float* zero_points);

/// @brief fake_quant_codes_ref's codes and scales on the CPU threads (num_threads <= 0: the
/// installed backend's count), for symmetric round-to-nearest quantizers whose codes fit int8 and
/// whose groups hold at most 16 Ki values (per row, per token, per group); kNoKernelForConfig for
/// any other quantizer. zero_points is optional (all +0). Bit-identical to the reference.
Status fake_quant_codes_cpu_parallel(const float* x,
                                     std::int64_t rows,
                                     std::int64_t cols,
                                     const FakeQuantParams& params,
                                     std::int8_t* codes,
                                     float* scales,
                                     float* zero_points,
                                     int num_threads = 0);

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

/// @brief launch_fake_quant on bfloat16 buffers (the raw 16-bit patterns, (rows, cols)): each value
/// is widened to float32 exactly, quantized as launch_fake_quant does and rounded back to bfloat16
/// once (to nearest, ties to even, NaN as 0x7FC0), in the kernel itself: the same values as
/// converting x to float32, launch_fake_quant and converting back, with a third of the traffic.
/// out may alias x. Asynchronous with respect to the host.
Status launch_fake_quant_bf16(const std::uint16_t* x_device,
                              std::int64_t rows,
                              std::int64_t cols,
                              const FakeQuantParams& params,
                              std::uint16_t* out_device,
                              float* scales_device,
                              float* zero_points_device,
                              cudaStream_t stream);
#endif

}  // namespace lowbit::kernels
