// launch_packed_linear (docs/efficientqat.md §Packed linear on the GPU): one thread per (batch
// row, output column). Neighbouring threads of a warp take neighbouring output columns, so each
// load of a packed word row is coalesced across the warp; the group sums follow the reference's
// order, so a column's result matches packed_linear_ref within fp32 rounding of the FMA.
#include "lowbit/kernels/packed_linear.h"

#include "common/packed_weight_math.h"
#include "cuda/common.cuh"

namespace lowbit::kernels {

namespace {

constexpr int kPackedThreads = 256;

__global__ void packed_linear_kernel(const float* __restrict__ x,
                                     std::int64_t batch,
                                     PackedWeightView w,
                                     const float* __restrict__ bias,
                                     float* __restrict__ y) {
    const std::int64_t o = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    const std::int64_t b = blockIdx.y;
    if (o >= w.out || b >= batch) {
        return;
    }
    y[b * w.out + o] = packed_column_dot(x + b * w.in, w, o) + (bias != nullptr ? bias[o] : 0.0F);
}

}  // namespace

Status launch_packed_linear(const float* x,
                            std::int64_t batch,
                            const PackedWeightView& w,
                            const float* bias,
                            float* y,
                            cudaStream_t stream) {
    if (const Status s = check_packed_weight(w); s != Status::kOk) {
        return s;
    }
    if (x == nullptr || y == nullptr || batch <= 0 || batch > 65535) {
        return Status::kBadArgument;
    }
    const dim3 grid(static_cast<unsigned>(ceil_div(w.out, kPackedThreads)),
                    static_cast<unsigned>(batch));
    packed_linear_kernel<<<grid, kPackedThreads, 0, stream>>>(x, batch, w, bias, y);
    LOWBIT_CUDA_CHECK(cudaGetLastError());
    return Status::kOk;
}

}  // namespace lowbit::kernels
