// launch_fake_quant / launch_fake_quant_bf16: fake quantization on the GPU, bit-identical to
// fake_quant_ref (docs/kernels.md §CUDA fake quantization). bfloat16 tensors are read and written
// by the kernels themselves: each value is widened to float32 exactly, quantized in float32 and
// rounded back to bfloat16 once (to nearest, ties to even, as LibTorch's conversion).
// - Groups of at most kBlockGroupMax values (per row, per token, per group of a few hundred): one
//   launch, one read of x. A warp or a block owns a group, holds its values in registers,
//   reduces the extent, computes s and z and writes x^.
// - Longer groups (per tensor, long rows): pass 1, one warp per (group, chunk of kReduceChunk
//   values), reduces min/max (or absmax) and merges it into the group's slot with atomicMin/Max on
//   order-preserving keys (exact, so the result is independent of scheduling); a per-group kernel
//   turns the keys into s and z in place; pass 2 maps every element.
// Every kernel moves kW values per load and store: a 16-byte vector (kVecWidth) where the buffers
// are on 16-byte boundaries and the groups are whole vectors, else one value (kW = 1). Every thread
// issues all its loads before it computes.
#include "lowbit/kernels/fake_quant.h"

#include <cuda_bf16.h>

#include <cstdint>

#include "common/fake_quant_layout.h"
#include "common/quant_math.h"
#include "cuda/common.cuh"

namespace lowbit::kernels {
namespace {

constexpr int kThreads = 256;
// Values one warp reduces in pass 1: 64 per lane keeps enough loads in flight, and per-tensor
// reductions of weight-sized tensors (16 Mi values) still spread over 8 Ki warps.
constexpr std::int64_t kReduceChunk = 2048;
// Loads each thread of the two-pass kernels keeps in flight.
constexpr int kPassUnroll = 4;
// Largest group a block of kThreads owns (32 values per thread).
constexpr std::int64_t kBlockGroupMax = 32 * kThreads;

__device__ inline float load_value(const float* p, std::int64_t i) {
    return p[i];
}

__device__ inline float load_value(const __nv_bfloat16* p, std::int64_t i) {
    return __bfloat162float(p[i]);  // exact
}

__device__ inline void store_value(float* p, std::int64_t i, float v) {
    p[i] = v;
}

// Round to nearest even, NaN to the canonical 0x7FC0: LibTorch's float -> bfloat16 conversion.
__device__ inline unsigned int bf16_bits(float v) {
    if (isnan(v)) {
        return 0x7FC0u;
    }
    const unsigned int u = __float_as_uint(v);
    return (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
}

__device__ inline void store_value(__nv_bfloat16* p, std::int64_t i, float v) {
    p[i] = __ushort_as_bfloat16(static_cast<unsigned short>(bf16_bits(v)));
}

// 16-byte vectors: kVecWidth<T> values per load and store (4 float32, 8 bfloat16). The caller
// guarantees 16-byte alignment of p + i. Width 1: one value, any alignment.
template <class T>
constexpr int kVecWidth = 16 / static_cast<int>(sizeof(T));

template <class T>
__device__ inline void load_vec(const T* p, std::int64_t i, float (&v)[1]) {
    v[0] = load_value(p, i);
}

template <class T>
__device__ inline void store_vec(T* p, std::int64_t i, const float (&v)[1]) {
    store_value(p, i, v[0]);
}

__device__ inline void load_vec(const float* p, std::int64_t i, float (&v)[4]) {
    const float4 f = *reinterpret_cast<const float4*>(p + i);
    v[0] = f.x;
    v[1] = f.y;
    v[2] = f.z;
    v[3] = f.w;
}

__device__ inline void load_vec(const __nv_bfloat16* p, std::int64_t i, float (&v)[8]) {
    const uint4 u = *reinterpret_cast<const uint4*>(p + i);
    const unsigned int words[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int w = 0; w < 4; ++w) {  // little endian: the lower address is the low half
        v[2 * w] = __uint_as_float(words[w] << 16);
        v[2 * w + 1] = __uint_as_float(words[w] & 0xFFFF0000u);
    }
}

__device__ inline void store_vec(float* p, std::int64_t i, const float (&v)[4]) {
    *reinterpret_cast<float4*>(p + i) = make_float4(v[0], v[1], v[2], v[3]);
}

__device__ inline void store_vec(__nv_bfloat16* p, std::int64_t i, const float (&v)[8]) {
    unsigned int words[4];
#pragma unroll
    for (int w = 0; w < 4; ++w) {
        words[w] = bf16_bits(v[2 * w]) | (bf16_bits(v[2 * w + 1]) << 16);
    }
    *reinterpret_cast<uint4*>(p + i) = make_uint4(words[0], words[1], words[2], words[3]);
}

// Everything the element map needs besides s and z.
struct MapConfig {
    QuantBounds bounds;
    bool symmetric;
    bool stochastic;
    std::uint64_t seed;
    float min_range;
    bool full_grid;  // zero_points reports zp = -z
};

__device__ inline float map_element(float v, float s, float z, const MapConfig& c, std::int64_t i) {
    return c.stochastic ? fake_quant_stochastic(
                              v, s, z, c.bounds, c.symmetric, c.seed, static_cast<std::uint64_t>(i))
                        : fake_quant_nearest(v, s, z, c.bounds, c.symmetric);
}

// Merges one value into the running extent keys (NaN is ignored, like std::max in the reference).
__device__ inline void extend_keys(float v, bool symmetric, unsigned int& hi, unsigned int& lo) {
    if (isnan(v)) {
        return;
    }
    const unsigned int k = float_to_ordered_key(symmetric ? fabsf(v) : v);
    hi = k > hi ? k : hi;
    lo = k < lo ? k : lo;
}

// s and z of a group from its extent keys; hi == 0: the group held only NaN, whose absmax the
// reference leaves at 0. zero_points reports zp = -z for the full grid.
struct ScaleZero {
    float s;
    float z;
};

__device__ inline ScaleZero scale_zero_of_keys(unsigned int hi_key,
                                               unsigned int lo_key,
                                               const MapConfig& c) {
    const float hi = hi_key == 0u ? 0.0f : ordered_key_to_float(hi_key);
    const float lo = c.symmetric ? 0.0f : ordered_key_to_float(lo_key);
    ScaleZero r{0.0f, 0.0f};
    quant_scale_zero(lo, hi, c.bounds, c.min_range, c.symmetric, &r.s, &r.z);
    return r;
}

// Group g's scale and zero point, into whichever of the two outputs the caller asked for.
__device__ inline void write_scale_zero(
    float* scales, float* zero_points, std::int64_t g, ScaleZero sz, const MapConfig& c) {
    if (scales != nullptr) {
        scales[g] = sz.s;
    }
    if (zero_points != nullptr) {
        zero_points[g] = (c.full_grid && !c.symmetric) ? -sz.z : sz.z;
    }
}

// Merges kW values into the running extent keys.
template <int kW>
__device__ inline void extend_keys_vec(const float (&v)[kW],
                                       bool symmetric,
                                       unsigned int& hi,
                                       unsigned int& lo) {
#pragma unroll
    for (int e = 0; e < kW; ++e) {
        extend_keys(v[e], symmetric, hi, lo);
    }
}

// x^ of the kW values from element `first` on, written with one store (a 16-byte vector, or one
// value when kW is 1).
template <class T, int kW>
__device__ inline void map_store_vec(
    T* out, std::int64_t first, const float (&v)[kW], ScaleZero sz, const MapConfig& c) {
    float q[kW];
#pragma unroll
    for (int e = 0; e < kW; ++e) {
        q[e] = map_element(v[e], sz.s, sz.z, c, first + e);
    }
    store_vec(out, first, q);
}

// Every lane of a warp ends with the warp's extent keys.
__device__ inline void warp_all_reduce_keys(unsigned int& hi, unsigned int& lo) {
    hi = __shfl_sync(0xFFFFFFFFu, warp_reduce_max(hi), 0);
    lo = __shfl_sync(0xFFFFFFFFu, warp_reduce_min(lo), 0);
}

// Every thread of a block of kThreads ends with the block's extent keys (one barrier; a kernel
// calls it once).
__device__ inline void block_all_reduce_keys(unsigned int& hi, unsigned int& lo) {
    constexpr int kWarps = kThreads / kWarpSize;
    __shared__ unsigned int warp_hi[kWarps];
    __shared__ unsigned int warp_lo[kWarps];
    hi = warp_reduce_max(hi);
    lo = warp_reduce_min(lo);
    if (threadIdx.x % kWarpSize == 0) {
        warp_hi[threadIdx.x / kWarpSize] = hi;
        warp_lo[threadIdx.x / kWarpSize] = lo;
    }
    __syncthreads();
    hi = 0u;
    lo = 0xFFFFFFFFu;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
        hi = warp_hi[w] > hi ? warp_hi[w] : hi;
        lo = warp_lo[w] < lo ? warp_lo[w] : lo;
    }
}

// Groups of lanes_per_group vectors, lanes_per_group a power of two <= 32 (16-byte vectors only):
// a row of a warp is 32 vectors, 32 / lanes_per_group groups side by side; a warp takes kSteps
// rows. The extent is reduced by xor shuffles inside each aligned segment of lanes_per_group
// lanes.
template <class T, int kSteps>
__global__ static void fake_quant_segments_kernel(const T* x,  // may alias out
                                                  T* out,
                                                  std::int64_t num_groups,
                                                  int lanes_per_group,
                                                  MapConfig config,
                                                  float* scales,
                                                  float* zero_points) {
    constexpr int kW = kVecWidth<T>;
    const std::int64_t warp = team_index<kWarpSize>();
    const int lane = threadIdx.x % kWarpSize;
    const int groups_per_row = kWarpSize / lanes_per_group;
    const std::int64_t first_group = warp * kSteps * groups_per_row;
    if (first_group >= num_groups) {
        return;  // whole warp exits together
    }
    const int group_len = lanes_per_group * kW;
    const int lane_offset = (lane % lanes_per_group) * kW;
    float v[kSteps][kW];
#pragma unroll
    for (int step = 0; step < kSteps; ++step) {
        const std::int64_t group = first_group + step * groups_per_row + lane / lanes_per_group;
        if (group < num_groups) {
            load_vec(x, group * group_len + lane_offset, v[step]);
        }
    }
#pragma unroll
    for (int step = 0; step < kSteps; ++step) {
        const std::int64_t group = first_group + step * groups_per_row + lane / lanes_per_group;
        const bool active = group < num_groups;
        unsigned int hi = 0u;
        unsigned int lo = 0xFFFFFFFFu;
        if (active) {
            extend_keys_vec(v[step], config.symmetric, hi, lo);
        }
        // Every lane takes part (inactive ones with the identity keys); xor offsets below
        // lanes_per_group stay inside the segment.
        for (int offset = lanes_per_group / 2; offset > 0; offset /= 2) {
            const unsigned int other_hi = __shfl_xor_sync(0xFFFFFFFFu, hi, offset);
            const unsigned int other_lo = __shfl_xor_sync(0xFFFFFFFFu, lo, offset);
            hi = other_hi > hi ? other_hi : hi;
            lo = other_lo < lo ? other_lo : lo;
        }
        if (!active) {
            continue;
        }
        const ScaleZero sz = scale_zero_of_keys(hi, lo, config);
        if (lane % lanes_per_group == 0) {
            write_scale_zero(scales, zero_points, group, sz, config);
        }
        map_store_vec(out, group * group_len + lane_offset, v[step], sz, config);
    }
}

// One group per warp (kTeam = 32) or per block (kTeam = kThreads) of group_len values, in
// vectors of kW values: thread t holds vectors t, t + kTeam, ... (kVecsPerThread of them at
// most), so the team's loads of one round are contiguous.
template <class T, int kW, int kTeam, int kVecsPerThread>
__global__ static void __launch_bounds__(kThreads)
    fake_quant_rows_kernel(const T* x,  // may alias out
                           T* out,
                           std::int64_t num_groups,
                           int group_len,
                           MapConfig config,
                           float* scales,
                           float* zero_points) {
    const std::int64_t group = team_index<kTeam>();
    if (group >= num_groups) {
        return;  // a whole team exits together (kTeam divides blockDim)
    }
    const int t = static_cast<int>(threadIdx.x) % kTeam;
    const std::int64_t base = group * group_len;
    const int vecs = group_len / kW;
    float v[kVecsPerThread][kW];
#pragma unroll
    for (int k = 0; k < kVecsPerThread; ++k) {
        const int j = t + k * kTeam;
        if (j < vecs) {
            load_vec(x, base + static_cast<std::int64_t>(j) * kW, v[k]);
        }
    }
    unsigned int hi = 0u;
    unsigned int lo = 0xFFFFFFFFu;
#pragma unroll
    for (int k = 0; k < kVecsPerThread; ++k) {
        if (t + k * kTeam < vecs) {
            extend_keys_vec(v[k], config.symmetric, hi, lo);
        }
    }
    if constexpr (kTeam == kWarpSize) {
        warp_all_reduce_keys(hi, lo);
    } else {
        block_all_reduce_keys(hi, lo);
    }
    const ScaleZero sz = scale_zero_of_keys(hi, lo, config);
    if (t == 0) {
        write_scale_zero(scales, zero_points, group, sz, config);
    }
#pragma unroll
    for (int k = 0; k < kVecsPerThread; ++k) {
        const int j = t + k * kTeam;
        if (j < vecs) {
            map_store_vec(out, base + static_cast<std::int64_t>(j) * kW, v[k], sz, config);
        }
    }
}

// Two-pass path. scale_keys / zero_keys alias the scales / zero_points buffers (same size, 4-byte
// elements): keys while pass 1 runs, floats after fake_quant_finalize_kernel.
__global__ static void fake_quant_init_kernel(unsigned int* hi_keys,
                                              unsigned int* lo_keys,
                                              std::int64_t num_groups) {
    const std::int64_t g = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g < num_groups) {
        hi_keys[g] = 0u;           // below every float key
        lo_keys[g] = 0xFFFFFFFFu;  // above every float key
    }
}

// Pass 1, kW values per load (kW > 1: x on a 16-byte boundary; any group length): a chunk's values
// up to the first vector boundary and after its last whole vector one by one, the rest four loads
// per lane in flight.
template <class T, int kW>
__global__ static void fake_quant_reduce_kernel(const T* __restrict__ x,
                                                std::int64_t group_len,
                                                std::int64_t chunks_per_group,
                                                std::int64_t num_tasks,
                                                bool symmetric,
                                                unsigned int* hi_keys,
                                                unsigned int* lo_keys) {
    const std::int64_t warp_global = team_index<kWarpSize>();
    const int lane = threadIdx.x % kWarpSize;
    if (warp_global >= num_tasks) {
        return;
    }
    const std::int64_t grp = warp_global / chunks_per_group;
    const std::int64_t chunk = warp_global % chunks_per_group;
    const std::int64_t begin = grp * group_len + chunk * kReduceChunk;
    const std::int64_t group_end = (grp + 1) * group_len;
    const std::int64_t end = begin + kReduceChunk < group_end ? begin + kReduceChunk : group_end;
    // [begin, head) one by one up to the first 16-byte boundary, whole vectors up to vec_end,
    // the rest one by one.
    std::int64_t head = (begin + kW - 1) / kW * kW;
    head = head < end ? head : end;
    const std::int64_t vec_end = head + (end - head) / kW * kW;
    unsigned int hi = 0u;
    unsigned int lo = 0xFFFFFFFFu;
    if (begin + lane < head) {
        extend_keys(load_value(x, begin + lane), symmetric, hi, lo);  // head - begin < kW <= 8
    }
    for (std::int64_t i0 = head + lane * kW; i0 < vec_end; i0 += kPassUnroll * kWarpSize * kW) {
        float v[kPassUnroll][kW];
#pragma unroll
        for (int u = 0; u < kPassUnroll; ++u) {
            const std::int64_t i = i0 + u * kWarpSize * kW;
            if (i < vec_end) {
                load_vec(x, i, v[u]);
            }
        }
#pragma unroll
        for (int u = 0; u < kPassUnroll; ++u) {
            if (i0 + u * kWarpSize * kW < vec_end) {
                extend_keys_vec(v[u], symmetric, hi, lo);
            }
        }
    }
    for (std::int64_t i = vec_end + lane; i < end; i += kWarpSize) {
        extend_keys(load_value(x, i), symmetric, hi, lo);
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

// Pass 2, kW values per load and store (kW > 1: x and out on 16-byte boundaries): four loads per
// thread and iteration, all issued before any value is mapped; one division per vector finds its
// group (an element-wise one only for a vector that straddles two groups); the last n % kW values
// one by one. Index: uint32 when n < 2^32, so that the division is 32-bit.
template <class T, int kW, class Index>
__global__ static void fake_quant_map_kernel(const T* x,  // may alias out (in place)
                                             T* out,
                                             Index n,
                                             Index group_len,
                                             const float* __restrict__ scales,
                                             const float* __restrict__ zero_points,
                                             MapConfig config) {
    const Index vecs = n / kW;
    const Index stride = static_cast<Index>(gridDim.x) * blockDim.x;
    const Index tid = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
    for (Index j0 = tid; j0 < vecs; j0 += kPassUnroll * stride) {
        float v[kPassUnroll][kW];
#pragma unroll
        for (int u = 0; u < kPassUnroll; ++u) {
            const Index j = j0 + u * stride;
            if (j < vecs) {
                load_vec(x, static_cast<std::int64_t>(j) * kW, v[u]);
            }
        }
#pragma unroll
        for (int u = 0; u < kPassUnroll; ++u) {
            const Index j = j0 + u * stride;
            if (j >= vecs) {
                continue;
            }
            const Index first = j * kW;
            const Index g = first / group_len;
            const bool straddles = first - g * group_len + kW > group_len;
            float q[kW];
#pragma unroll
            for (int e = 0; e < kW; ++e) {
                const Index ge = straddles ? (first + e) / group_len : g;
                const float s = scales[ge];
                const float zp = zero_points[ge];
                const float z = (config.full_grid && !config.symmetric) ? -zp : zp;
                q[e] = map_element(v[u][e], s, z, config, static_cast<std::int64_t>(first + e));
            }
            store_vec(out, static_cast<std::int64_t>(first), q);
        }
    }
    const Index tail = vecs * kW + tid;
    if (tail < n) {
        const Index g = tail / group_len;
        const float zp = zero_points[g];
        const float z = (config.full_grid && !config.symmetric) ? -zp : zp;
        store_value(
            out,
            tail,
            map_element(
                load_value(x, tail), scales[g], z, config, static_cast<std::int64_t>(tail)));
    }
}

__global__ static void fake_quant_finalize_kernel(float* scales,
                                                  float* zero_points,
                                                  std::int64_t num_groups,
                                                  MapConfig config) {
    const std::int64_t g = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g >= num_groups) {
        return;
    }
    const ScaleZero sz = scale_zero_of_keys(reinterpret_cast<const unsigned int*>(scales)[g],
                                            reinterpret_cast<const unsigned int*>(zero_points)[g],
                                            config);
    write_scale_zero(scales, zero_points, g, sz, config);
}

// A one-pass kernel over `blocks` blocks of kThreads.
template <class T, class Kernel>
Status run_one_pass(Kernel kernel,
                    std::int64_t blocks,
                    const T* x,
                    T* out,
                    const FakeQuantLayout& layout,
                    int len,  // the kernel's group length (values or vectors)
                    const MapConfig& config,
                    float* scales,
                    float* zero_points,
                    cudaStream_t stream) {
    if (blocks > 0x7FFFFFFF) {
        return Status::kNoKernelForConfig;  // > 2^31 blocks: beyond any real tensor
    }
    kernel<<<static_cast<unsigned int>(blocks), kThreads, 0, stream>>>(
        x, out, layout.num_groups, len, config, scales, zero_points);
    LOWBIT_CUDA_CHECK(cudaGetLastError());
    return Status::kOk;
}

// Groups of up to kBlockGroupMax values, kW values per load: a warp per group up to 8 loads per
// lane, else a block per group; each with the fewest loads per thread that cover the group, since
// registers the group does not need cost occupancy.
template <class T, int kW>
Status launch_rows(const T* x,
                   T* out,
                   const FakeQuantLayout& layout,
                   const MapConfig& config,
                   float* scales,
                   float* zero_points,
                   cudaStream_t stream) {
    const auto group_len = static_cast<int>(layout.group_len);
    const int vecs = group_len / kW;
    const std::int64_t warp_blocks = ceil_div(layout.num_groups, kThreads / kWarpSize);
    const std::int64_t block_blocks = layout.num_groups;
    const auto run = [&](auto kernel, std::int64_t blocks) {
        return run_one_pass(
            kernel, blocks, x, out, layout, group_len, config, scales, zero_points, stream);
    };
    if (vecs <= 2 * kWarpSize) {
        return run(fake_quant_rows_kernel<T, kW, kWarpSize, 2>, warp_blocks);
    }
    if (vecs <= 4 * kWarpSize) {
        return run(fake_quant_rows_kernel<T, kW, kWarpSize, 4>, warp_blocks);
    }
    if (vecs <= 8 * kWarpSize) {
        return run(fake_quant_rows_kernel<T, kW, kWarpSize, 8>, warp_blocks);
    }
    if (vecs <= 2 * kThreads) {
        return run(fake_quant_rows_kernel<T, kW, kThreads, 2>, block_blocks);
    }
    if (vecs <= 4 * kThreads) {
        return run(fake_quant_rows_kernel<T, kW, kThreads, 4>, block_blocks);
    }
    if (vecs <= 8 * kThreads) {
        return run(fake_quant_rows_kernel<T, kW, kThreads, 8>, block_blocks);
    }
    return run(fake_quant_rows_kernel<T, kW, kThreads, 32>, block_blocks);
}

template <class T>
Status launch_one_pass(const T* x,
                       T* out,
                       bool aligned,
                       const FakeQuantLayout& layout,
                       const MapConfig& config,
                       float* scales,
                       float* zero_points,
                       cudaStream_t stream) {
    constexpr int kW = kVecWidth<T>;
    if (!aligned || layout.group_len % kW != 0) {
        return launch_rows<T, 1>(x, out, layout, config, scales, zero_points, stream);
    }
    const auto vecs = static_cast<int>(layout.group_len / kW);
    if (vecs <= kWarpSize && (vecs & (vecs - 1)) == 0) {
        constexpr int kSteps = 4;
        const std::int64_t warps = ceil_div(layout.num_groups, kSteps * (kWarpSize / vecs));
        return run_one_pass(fake_quant_segments_kernel<T, kSteps>,
                            ceil_div(warps * kWarpSize, kThreads),
                            x,
                            out,
                            layout,
                            vecs,
                            config,
                            scales,
                            zero_points,
                            stream);
    }
    return launch_rows<T, kW>(x, out, layout, config, scales, zero_points, stream);
}

// Pass 2 over the whole buffer, kW values per load.
template <class T, int kW>
void launch_map(const T* x,
                T* out,
                const FakeQuantLayout& layout,
                const MapConfig& config,
                const float* scales,
                const float* zero_points,
                cudaStream_t stream) {
    const int blocks = grid_stride_blocks(ceil_div(layout.n, kW), kThreads);
    // 32-bit indices when no index the threads form, up to kPassUnroll strides past the end,
    // reaches 2^32.
    const std::int64_t reach = std::int64_t{kPassUnroll + 1} * kThreads * blocks * kW;
    if (layout.n < (std::int64_t{1} << 32) - reach) {
        fake_quant_map_kernel<T, kW, std::uint32_t>
            <<<blocks, kThreads, 0, stream>>>(x,
                                              out,
                                              static_cast<std::uint32_t>(layout.n),
                                              static_cast<std::uint32_t>(layout.group_len),
                                              scales,
                                              zero_points,
                                              config);
    } else {
        fake_quant_map_kernel<T, kW, std::uint64_t>
            <<<blocks, kThreads, 0, stream>>>(x,
                                              out,
                                              static_cast<std::uint64_t>(layout.n),
                                              static_cast<std::uint64_t>(layout.group_len),
                                              scales,
                                              zero_points,
                                              config);
    }
}

template <class T>
Status launch_two_pass(const T* x,
                       T* out,
                       bool aligned,
                       const FakeQuantLayout& layout,
                       const MapConfig& config,
                       float* scales,
                       float* zero_points,
                       cudaStream_t stream) {
    // (num_groups,) scales and zero points: the caller's buffers or a workspace.
    DeviceBuffer workspace;
    const std::size_t group_bytes = sizeof(float) * static_cast<std::size_t>(layout.num_groups);
    if (scales == nullptr || zero_points == nullptr) {
        LOWBIT_CUDA_CHECK(workspace.allocate(2 * group_bytes, stream));
        if (scales == nullptr) {
            scales = workspace.as<float>();
        }
        if (zero_points == nullptr) {
            zero_points = workspace.as<float>() + layout.num_groups;
        }
    }
    auto* hi_keys = reinterpret_cast<unsigned int*>(scales);
    auto* lo_keys = reinterpret_cast<unsigned int*>(zero_points);
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
    constexpr int kW = kVecWidth<T>;
    // Vector loads in pass 1 need x alone on a 16-byte boundary (chunks align themselves).
    const bool x_aligned = reinterpret_cast<std::uintptr_t>(x) % 16 == 0;
    (x_aligned ? fake_quant_reduce_kernel<T, kW>
               : fake_quant_reduce_kernel<
                     T,
                     1>)<<<static_cast<unsigned int>(reduce_blocks), kThreads, 0, stream>>>(
        x, layout.group_len, chunks_per_group, num_tasks, config.symmetric, hi_keys, lo_keys);
    LOWBIT_CUDA_CHECK(cudaGetLastError());
    fake_quant_finalize_kernel<<<group_blocks, kThreads, 0, stream>>>(
        scales, zero_points, layout.num_groups, config);
    LOWBIT_CUDA_CHECK(cudaGetLastError());
    if (aligned) {
        launch_map<T, kW>(x, out, layout, config, scales, zero_points, stream);
    } else {
        launch_map<T, 1>(x, out, layout, config, scales, zero_points, stream);
    }
    LOWBIT_CUDA_CHECK(cudaGetLastError());
    return Status::kOk;
}

template <class T>
Status launch(const T* x,
              std::int64_t rows,
              std::int64_t cols,
              const FakeQuantParams& params,
              T* out,
              float* scales,
              float* zero_points,
              cudaStream_t stream) {
    FakeQuantLayout layout{};
    const Status status = fake_quant_call_layout(params, rows, cols, x, out, &layout);
    if (status != Status::kOk || layout.n == 0) {
        return status;
    }
    MapConfig config{};
    config.bounds = quant_bounds(params.bits, params.symmetric, params.grid, params.is_signed);
    config.symmetric = params.symmetric;
    config.stochastic = params.rounding == Rounding::kStochastic;
    config.seed = params.seed;
    config.min_range = params.min_range;
    config.full_grid = params.grid == QuantGrid::kFull;
    // 16-byte vector loads and stores need both buffers on 16-byte boundaries (LibTorch's and
    // cudaMalloc's allocations are; a view at an odd offset takes the element-wise kernels).
    const bool aligned =
        ((reinterpret_cast<std::uintptr_t>(x) | reinterpret_cast<std::uintptr_t>(out)) % 16) == 0;
    if (layout.group_len <= kBlockGroupMax) {
        return launch_one_pass(x, out, aligned, layout, config, scales, zero_points, stream);
    }
    return launch_two_pass(x, out, aligned, layout, config, scales, zero_points, stream);
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
    return launch(
        x_device, rows, cols, params, out_device, scales_device, zero_points_device, stream);
}

Status launch_fake_quant_bf16(const std::uint16_t* x_device,
                              std::int64_t rows,
                              std::int64_t cols,
                              const FakeQuantParams& params,
                              std::uint16_t* out_device,
                              float* scales_device,
                              float* zero_points_device,
                              cudaStream_t stream) {
    return launch(reinterpret_cast<const __nv_bfloat16*>(x_device),
                  rows,
                  cols,
                  params,
                  reinterpret_cast<__nv_bfloat16*>(out_device),
                  scales_device,
                  zero_points_device,
                  stream);
}

}  // namespace lowbit::kernels
