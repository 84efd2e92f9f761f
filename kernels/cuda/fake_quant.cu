// launch_fake_quant: the two fake-quant passes on the GPU, bit-identical to fake_quant_ref.
// Pass 1: one warp per (group, chunk of kReduceChunk values) reduces min/max (or absmax) and
// merges it into the group's slot with atomicMin/Max on order-preserving keys (exact, so the
// result is independent of scheduling); a per-group kernel turns the keys into s and z in place.
// Pass 2: grid-stride elementwise map with the same float operations as the CPU path.
#include "lowbit/kernels/fake_quant.h"

#include "common/fake_quant_layout.h"
#include "common/quant_math.h"
#include "cuda/common.cuh"

namespace lowbit::kernels {
namespace {

constexpr int kThreads = 256;
// Values one warp reduces: 64 per lane keeps enough loads in flight, and per-tensor reductions
// of weight-sized tensors (16 Mi values) still spread over 8 Ki warps.
constexpr std::int64_t kReduceChunk = 2048;

// scale_keys / zero_keys alias the scales / zero_points buffers (same size, 4-byte elements):
// keys while pass 1 runs, floats after fake_quant_finalize_kernel.
__global__ static void fake_quant_init_kernel(unsigned int* hi_keys,
                                              unsigned int* lo_keys,
                                              std::int64_t num_groups) {
    const std::int64_t g = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g < num_groups) {
        hi_keys[g] = 0u;           // below every float key
        lo_keys[g] = 0xFFFFFFFFu;  // above every float key
    }
}

__global__ static void fake_quant_reduce_kernel(const float* __restrict__ x,
                                                std::int64_t group_len,
                                                std::int64_t chunks_per_group,
                                                std::int64_t num_tasks,
                                                bool symmetric,
                                                unsigned int* hi_keys,
                                                unsigned int* lo_keys) {
    const std::int64_t warp_global =
        (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarpSize;
    const int lane = threadIdx.x % kWarpSize;
    if (warp_global >= num_tasks) {
        return;  // whole warp exits together: blockDim is a multiple of 32
    }
    const std::int64_t grp = warp_global / chunks_per_group;
    const std::int64_t chunk = warp_global % chunks_per_group;
    const std::int64_t begin = grp * group_len + chunk * kReduceChunk;
    const std::int64_t group_end = (grp + 1) * group_len;
    const std::int64_t end = begin + kReduceChunk < group_end ? begin + kReduceChunk : group_end;
    // Keys are monotonic in the float value, so min/max of keys == keys of min/max.
    unsigned int hi = 0u;
    unsigned int lo = 0xFFFFFFFFu;
    for (std::int64_t i = begin + lane; i < end; i += kWarpSize) {
        const float v = x[i];
        if (isnan(v)) {
            continue;  // NaN is ignored, like std::max in the reference
        }
        const unsigned int k = float_to_ordered_key(symmetric ? fabsf(v) : v);
        hi = k > hi ? k : hi;
        lo = k < lo ? k : lo;
    }
    hi = warp_reduce_max(hi);
    lo = warp_reduce_min(lo);
    if (lane == 0) {
        atomicMax(&hi_keys[grp], hi);
        if (!symmetric) {
            atomicMin(&lo_keys[grp], lo);
        }
    }
}

__global__ static void fake_quant_finalize_kernel(float* scales,
                                                  float* zero_points,
                                                  std::int64_t num_groups,
                                                  QuantBounds bounds,
                                                  float min_range,
                                                  bool symmetric,
                                                  bool full_grid) {
    const std::int64_t g = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g >= num_groups) {
        return;
    }
    const unsigned int hi_key = reinterpret_cast<const unsigned int*>(scales)[g];
    const unsigned int lo_key = reinterpret_cast<const unsigned int*>(zero_points)[g];
    // hi_key == 0: the group held only NaN; the reference's absmax stays 0 then.
    const float hi = hi_key == 0u ? 0.0f : ordered_key_to_float(hi_key);
    const float lo = symmetric ? 0.0f : ordered_key_to_float(lo_key);
    float s = 0.0f;
    float z = 0.0f;
    quant_scale_zero(lo, hi, bounds, min_range, symmetric, &s, &z);
    scales[g] = s;
    zero_points[g] = (full_grid && !symmetric) ? -z : z;  // full grid reports zp = -z
}

template <class Index>
__global__ static void fake_quant_map_kernel(const float* x,  // may alias out (in place)
                                             float* out,
                                             Index n,
                                             Index group_len,
                                             const float* __restrict__ scales,
                                             const float* __restrict__ zero_points,
                                             QuantBounds bounds,
                                             bool symmetric,
                                             bool full_grid,
                                             bool stochastic,
                                             std::uint64_t seed) {
    const Index stride = static_cast<Index>(gridDim.x) * blockDim.x;
    for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
        const Index g = i / group_len;  // 32-bit division when n < 2^32 (Index = uint32)
        const float s = scales[g];
        const float zp = zero_points[g];
        const float z = (full_grid && !symmetric) ? -zp : zp;
        out[i] = stochastic
                     ? fake_quant_stochastic(
                           x[i], s, z, bounds, symmetric, seed, static_cast<std::uint64_t>(i))
                     : fake_quant_nearest(x[i], s, z, bounds, symmetric);
    }
}

}  // namespace

Status launch_fake_quant(const float* x_device,
                         std::int64_t rows,
                         std::int64_t cols,
                         const FakeQuantParams& params,
                         float* out_device,
                         float* scales_device,
                         float* zero_points_device,
                         cudaStream_t stream) {
    const Status status = fake_quant_check_args(params, rows, cols);
    if (status != Status::kOk) {
        return status;
    }
    const FakeQuantLayout layout = fake_quant_layout(params, rows, cols);
    if (layout.n == 0) {
        return Status::kOk;
    }
    if (x_device == nullptr || out_device == nullptr) {
        return Status::kBadArgument;
    }
    const bool symmetric = params.symmetric;
    const bool full_grid = params.grid == QuantGrid::kFull;
    const QuantBounds bounds = quant_bounds(params.bits, symmetric, params.grid, params.is_signed);

    // (num_groups,) scales and zero points: the caller's buffers or a workspace.
    DeviceBuffer workspace;
    const std::size_t group_bytes = sizeof(float) * static_cast<std::size_t>(layout.num_groups);
    if (scales_device == nullptr || zero_points_device == nullptr) {
        LOWBIT_CUDA_CHECK(workspace.allocate(2 * group_bytes, stream));
        if (scales_device == nullptr) {
            scales_device = workspace.as<float>();
        }
        if (zero_points_device == nullptr) {
            zero_points_device = workspace.as<float>() + layout.num_groups;
        }
    }
    auto* hi_keys = reinterpret_cast<unsigned int*>(scales_device);
    auto* lo_keys = reinterpret_cast<unsigned int*>(zero_points_device);
    const auto group_blocks = static_cast<unsigned int>(ceil_div(layout.num_groups, kThreads));
    fake_quant_init_kernel<<<group_blocks, kThreads, 0, stream>>>(
        hi_keys, lo_keys, layout.num_groups);
    LOWBIT_CUDA_CHECK(cudaGetLastError());

    const std::int64_t chunks_per_group = ceil_div(layout.group_len, kReduceChunk);
    const std::int64_t num_tasks = layout.num_groups * chunks_per_group;
    const std::int64_t reduce_blocks = ceil_div(num_tasks * kWarpSize, kThreads);
    if (reduce_blocks > 0x7FFFFFFF) {
        return Status::kNoKernelForConfig;  // > 2^31 blocks: beyond any real tensor
    }
    fake_quant_reduce_kernel<<<static_cast<unsigned int>(reduce_blocks), kThreads, 0, stream>>>(
        x_device, layout.group_len, chunks_per_group, num_tasks, symmetric, hi_keys, lo_keys);
    LOWBIT_CUDA_CHECK(cudaGetLastError());
    fake_quant_finalize_kernel<<<group_blocks, kThreads, 0, stream>>>(scales_device,
                                                                      zero_points_device,
                                                                      layout.num_groups,
                                                                      bounds,
                                                                      params.min_range,
                                                                      symmetric,
                                                                      full_grid);
    LOWBIT_CUDA_CHECK(cudaGetLastError());

    const bool stochastic = params.rounding == Rounding::kStochastic;
    const int map_blocks = grid_stride_blocks(layout.n, kThreads);
    if (layout.n < (std::int64_t{1} << 32) - kThreads * static_cast<std::int64_t>(map_blocks)) {
        fake_quant_map_kernel<std::uint32_t>
            <<<map_blocks, kThreads, 0, stream>>>(x_device,
                                                  out_device,
                                                  static_cast<std::uint32_t>(layout.n),
                                                  static_cast<std::uint32_t>(layout.group_len),
                                                  scales_device,
                                                  zero_points_device,
                                                  bounds,
                                                  symmetric,
                                                  full_grid,
                                                  stochastic,
                                                  params.seed);
    } else {
        fake_quant_map_kernel<std::uint64_t>
            <<<map_blocks, kThreads, 0, stream>>>(x_device,
                                                  out_device,
                                                  static_cast<std::uint64_t>(layout.n),
                                                  static_cast<std::uint64_t>(layout.group_len),
                                                  scales_device,
                                                  zero_points_device,
                                                  bounds,
                                                  symmetric,
                                                  full_grid,
                                                  stochastic,
                                                  params.seed);
    }
    LOWBIT_CUDA_CHECK(cudaGetLastError());
    return Status::kOk;
}

}  // namespace lowbit::kernels
