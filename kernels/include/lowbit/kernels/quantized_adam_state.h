// Storage format of a low-bit Adam moment (docs/quantized-pretraining.md §Stored moments): integer
// codes (one byte each for 5..8 bits, two per byte for 2..4 bits) plus float32 scales (and zero
// points when asymmetric) per tensor, per row or per block of `block_size` elements; the byte
// counts and code ranges are quant_format.h's (stored_code_bytes, code_range). The values the
// codes stand for are exactly the fake quantizer's (fake_quant.h) output for the same group: equal
// as float32 values, bit for bit except that a stored zero is always +0 (an integer code has no
// sign of zero; fake_quant may return -0). Also quantize/dequantize of whole states.
#pragma once

#include "lowbit/kernels/fake_quant.h"
#include "lowbit/kernels/status.h"

#include <cstdint>

#if LOWBIT_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace lowbit::kernels {

/// @brief Quantizer of one stored moment. Rounding is always round-half-to-even (the reference
/// code's torch.round); the grids and the scale formulas are those of FakeQuantParams.
struct StateQuantFormat {
    int bits = 8;  ///< 2..8; 2..4 bits are packed two codes per byte
    bool symmetric = true;
    QuantGrid grid = QuantGrid::kReference;
    /// The stored granularities, persisted in checkpoints: kPerTensor (one scale), kPerChannel
    /// (one per row of the (rows, cols) view: per output channel of W) and kPerBlock (contiguous
    /// blocks of block_size elements of the flattened state, bitsandbytes' layout; blocks may
    /// straddle rows and the last one may be shorter). Quantizers with other granularities map
    /// to these through stored_state_granularity (quant_format.h).
    Granularity granularity = Granularity::kPerBlock;
    std::int64_t block_size = 256;  ///< kPerBlock only (bitsandbytes' default)
    /// r_min for optimizer states (docs/quantized-pretraining.md §Range floor)
    float min_range = 1e-8f;

    bool operator==(const StateQuantFormat&) const = default;
};

/// @brief Where a format puts the groups and codes of a (rows, cols) state of n = rows * cols
/// values. Group g covers elements [g * group_len, min(n, (g + 1) * group_len)); num_groups and
/// code_bytes are stored_group_count and stored_code_bytes of quant_format.h, so the bytes a
/// state holds are stored_state_bytes(n, group_len, bits, symmetric). Codes are packed
/// over the flat index: element i's code is byte i (unpacked) or the low (i even) / high (i odd)
/// nibble of byte i / 2 (packed).
struct StateQuantLayout {
    std::int64_t n = 0;
    std::int64_t num_groups = 0;  ///< scales (and zero points) to store
    std::int64_t group_len = 0;
    bool packed = false;  ///< bits <= 4
    std::int64_t code_bytes = 0;
};

/// @brief kOk, or why a format is rejected for a (rows, cols) state: kBadArgument for bits outside
/// 2..8, a non-positive or non-finite min_range, a bad enum or a granularity that is not stored
/// (per_token, per_group: see stored_state_granularity) or block_size < 1; kBadShape for
/// negative sizes.
Status state_quant_check_args(const StateQuantFormat& format, std::int64_t rows, std::int64_t cols);

/// @brief Layout of a valid (rows, cols) state (call after state_quant_check_args).
StateQuantLayout state_quant_layout(const StateQuantFormat& format,
                                    std::int64_t rows,
                                    std::int64_t cols);

/// @brief The fake quantizer that one group of this format applies: FakeQuantParams with the
/// format's bits, symmetry, grid and min_range, per-tensor (apply it to one group's values).
FakeQuantParams state_group_fake_quant_params(const StateQuantFormat& format);

/// @brief One stored moment. codes: (code_bytes,); scales, zero_points: (num_groups,). zero_points
/// holds the offset z of x^ = (q + z) * s for both grids (for the full grid z = -zp of
/// fake_quant.h) and is unused (may be null) when symmetric. A code byte holds q - Qn, which lies
/// in [0, 2^bits - 1] for every grid.
struct QuantizedStateBuffers {
    std::uint8_t* codes = nullptr;
    float* scales = nullptr;
    float* zero_points = nullptr;
};

/// @brief Quantize a float32 (rows, cols) state x into `out` (host buffers), mapping it first as
/// `mapping` says (kSqrt: the codes hold sqrt(x); x must be >= 0 then). Scalar reference.
Status state_quantize_ref(const float* x,
                          std::int64_t rows,
                          std::int64_t cols,
                          const StateQuantFormat& format,
                          SecondMomentMapping mapping,
                          QuantizedStateBuffers out);

/// @brief The values a stored state stands for: (q + z) * s, squared for kSqrt. Scalar reference.
Status state_dequantize_ref(const QuantizedStateBuffers& state,
                            std::int64_t rows,
                            std::int64_t cols,
                            const StateQuantFormat& format,
                            SecondMomentMapping mapping,
                            float* out);

#if LOWBIT_HAVE_CUDA
/// @brief CUDA version of state_dequantize_ref on device buffers; bit-identical. Asynchronous.
Status launch_state_dequantize(const QuantizedStateBuffers& state_device,
                               std::int64_t rows,
                               std::int64_t cols,
                               const StateQuantFormat& format,
                               SecondMomentMapping mapping,
                               float* out_device,
                               cudaStream_t stream);
#endif

}  // namespace lowbit::kernels
