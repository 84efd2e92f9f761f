// Packed weight-only low-bit linear layers (docs/efficientqat.md §Packed layout): the bit
// packing of integer codes into 32-bit words, its inverse, and y = x·Ŵᵀ + b computed from the
// packed words without materialising Ŵ (dequantize on the fly). Ŵ[o, i] = (q[i, o] − z[g, o]) ·
// s[g, o] with g = i / group_size: the layout stores Wᵀ, so every array below is indexed
// [input, output]. Scalar reference, multi-threaded CPU path and (with LOWBIT_HAVE_CUDA) a CUDA
// launcher with the same contract.
#pragma once

#include "lowbit/kernels/status.h"

#include <cstdint>

#ifdef LOWBIT_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace lowbit::kernels {

/// A packed weight of shape (out, in) as stored (docs/efficientqat.md §Packed layout), with k =
/// packed_codes_per_word(bits) codes per word:
/// - qweight: ceil(in/k) × out words; word r of column o holds the codes of inputs r·k .. r·k+k−1,
///   least-significant bits first (code j at bit offset bits·(j − r·k)).
/// - qzeros: (in/G) × ceil(out/k) words, the zero points packed the same way along the output.
/// - scales: (in/G) × out floats (stored as fp16 in files; the kernels take fp32).
struct PackedWeightView {
    int bits = 4;
    std::int64_t in = 0;
    std::int64_t out = 0;
    std::int64_t group_size = 0;
    const std::uint32_t* qweight = nullptr;
    const std::uint32_t* qzeros = nullptr;
    const float* scales = nullptr;
};

/// @brief Checks bits (2, 3, 4 or 8), positive sizes, group_size dividing in, non-null arrays.
Status check_packed_weight(const PackedWeightView& w);

/// @brief Packs codes[r, c] (rows × cols, each < 2^bits) along the rows into
/// words[ceil(rows/k), cols]: what qweight does with the (in, out) codes.
Status pack_codes_along_rows(const std::uint8_t* codes,
                             std::int64_t rows,
                             std::int64_t cols,
                             int bits,
                             std::uint32_t* words);

/// @brief Packs codes[r, c] along the columns into words[rows, ceil(cols/k)]: what qzeros does
/// with the (in/G, out) zero points.
Status pack_codes_along_cols(const std::uint8_t* codes,
                             std::int64_t rows,
                             std::int64_t cols,
                             int bits,
                             std::uint32_t* words);

/// @brief The inverses: codes[rows, cols] from the words of pack_codes_along_rows / _cols.
Status unpack_codes_along_rows(const std::uint32_t* words,
                               std::int64_t rows,
                               std::int64_t cols,
                               int bits,
                               std::uint8_t* codes);
Status unpack_codes_along_cols(const std::uint32_t* words,
                               std::int64_t rows,
                               std::int64_t cols,
                               int bits,
                               std::uint8_t* codes);

/// @brief Ŵ as an (out, in) row-major matrix, exactly (q − z)·s in fp32.
Status packed_dequantize_ref(const PackedWeightView& w, float* weight);

/// @brief y[b, o] = Σ_i x[b, i]·Ŵ[o, i] (+ bias[o]): x (batch, in), y (batch, out), bias null
/// or (out). The reference sums each group's Σ x·(q − z) in input order, then scales it.
Status packed_linear_ref(
    const float* x, std::int64_t batch, const PackedWeightView& w, const float* bias, float* y);

/// @brief The same on `threads` CPU threads (0: all cores), split over output columns. Walks the
/// packed words once per batch tile, so it reads bits/8 bytes per weight instead of 4. Sums in a
/// different order from the reference: equal to it within floating-point rounding.
Status packed_linear_cpu(const float* x,
                         std::int64_t batch,
                         const PackedWeightView& w,
                         const float* bias,
                         float* y,
                         int threads);

#ifdef LOWBIT_HAVE_CUDA
/// @brief The same on the GPU: every pointer of w, x, bias and y in device memory. One thread
/// per (batch row, output column); launches on `stream` and does not synchronise.
Status launch_packed_linear(const float* x,
                            std::int64_t batch,
                            const PackedWeightView& w,
                            const float* bias,
                            float* y,
                            cudaStream_t stream);
#endif

}  // namespace lowbit::kernels
