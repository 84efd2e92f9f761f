// A linear weight in the packed low-bit layout (docs/efficientqat.md §Packed layout): integer codes
// and zero points packed into int32 words, fp16 steps, and g_idx, as tensors ready for a
// safetensors file; built from a GroupQuantizer and turned back into codes, zero points or Ŵ.
#pragma once

#include "lowbit/kernels/packed_linear.h"
#include "lowbit/qat/group_quantizer.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace lowbit::qat {

struct PackedWeight {
    GroupQuantSpec spec;
    int64_t in = 0;
    int64_t out = 0;
    torch::Tensor qweight;  // int32 (ceil(in/k), out), k = 32 / bits codes per word
    torch::Tensor qzeros;   // int32 (in/G, ceil(out/k))
    torch::Tensor scales;   // float16 (in/G, out)
    torch::Tensor g_idx;    // int32 (in), i / G

    int64_t groups() const {
        return in / spec.group_size;
    }

    // Bytes of the four tensors as stored.
    int64_t stored_bytes() const;
};

// Packs codes (out, in) uint8, zero points (out, in/G) uint8 and steps (out, in/G) (rounded to
// fp16). Every code and zero point must be at most 2^bits − 1. CPU tensors.
PackedWeight pack_weight(const torch::Tensor& codes,
                         const torch::Tensor& zero_points,
                         const torch::Tensor& steps,
                         GroupQuantSpec spec);

// Packs weight (out, in) quantized by a finalized quantizer (GroupQuantizer::finalize).
PackedWeight pack_weight(const torch::Tensor& weight, const GroupQuantizer& quantizer);

// Throws std::invalid_argument naming `what` and the tensor when a packed weight's tensors do not
// have the dtypes and shapes its bits, group size, in and out imply (a truncated or foreign file).
void check_packed_weight(const PackedWeight& w, const std::string& what);

// Inverses: codes (out, in) uint8 and zero points (out, in/G) uint8.
torch::Tensor unpack_codes(const PackedWeight& w);
torch::Tensor unpack_zero_points(const PackedWeight& w);

// Ŵ (out, in) fp32 = (q − z)·s with the stored fp16 steps.
torch::Tensor dequantize(const PackedWeight& w);

// The kernels' view of w with the given fp32 steps (in/G, out), contiguous CPU or CUDA tensors
// that must outlive the view.
kernels::PackedWeightView packed_view(const PackedWeight& w, const torch::Tensor& steps_in_out);

}  // namespace lowbit::qat
