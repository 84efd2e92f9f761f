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

// x: any shape (..., cols), float32, bfloat16 or float16, on the CPU or a CUDA device; viewed as
// (numel / cols, cols) row-major. Returns Q(x) with x's shape and dtype (reduced-precision inputs
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

}  // namespace lowbit::quant
