// Fake quantization of a LibTorch tensor with the lowbit kernels: the multi-threaded CPU path for
// CPU tensors, the CUDA kernel on the current stream for CUDA tensors. Both are bit-identical to
// the scalar reference (kernels/ref), so results do not depend on the device.
#pragma once

#include "lowbit/kernels/fake_quant.h"

#include <torch/torch.h>

namespace lowbit::quant {

// Per-group scales and zero points of one call, each (num_groups,) float32 on x's device.
struct FakeQuantScales {
    torch::Tensor scales;
    torch::Tensor zero_points;
};

// The 2-D (rows, cols) tensor the kernels quantize for x (the format table's KernelView): x
// viewed as (numel / C, C) for every granularity but per_position, whose x must be (B, T, C) and
// becomes the contiguous (T, B·C) (one row per sequence position). Telemetry analyses a tensor
// through this view so that its groups are the quantizer's.
torch::Tensor kernel_view(const torch::Tensor& x, const kernels::FakeQuantParams& params);

// x: any shape (..., cols), float32, bfloat16 or float16, on the CPU or a CUDA device; viewed as
// kernel_view(x, params). Returns Q(x) with x's shape and dtype (reduced-precision inputs
// are quantized in float32 and the result rounded back). `scales_out`, when given, receives the
// scales and zero points. A 0-d or empty tensor is returned unchanged (as a copy).
// Throws c10::Error naming the shape and parameters on a bad argument (bits, group size that does
// not divide cols, unsupported dtype or device).
torch::Tensor fake_quantize(const torch::Tensor& x,
                            const kernels::FakeQuantParams& params,
                            FakeQuantScales* scales_out = nullptr);

// The same into the integer codes (int8, x's shape) plus scales and zero points, CPU only (used by
// `lowbit quant` and tests; training never needs the codes of W, A or G).
torch::Tensor quantize_codes(const torch::Tensor& x,
                             const kernels::FakeQuantParams& params,
                             FakeQuantScales* scales_out);

// Q(x) computed with LibTorch operations in x's own dtype (bf16 stays bf16 from the amax to the
// final multiply), as the reference code's quantizers run under bf16 autocast
// (docs/quantized-pretraining.md §Quantizer arithmetic). Same formulas and groups as
// fake_quantize; round to nearest only. For a float32 x the kernels' fake_quantize is used (same
// values, see the tests).
torch::Tensor fake_quantize_in_dtype(const torch::Tensor& x,
                                     const kernels::FakeQuantParams& params);

}  // namespace lowbit::quant
