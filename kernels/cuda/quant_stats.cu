// launch_quant_stats: quantization statistics of a device float32 buffer, left in a caller-chosen
// device result block (no host sync, no copy). Kernels, all on `stream`:
//   init      result block and per-group range keys;
//   reduce    one warp per (group, chunk): group range keys (NaN ignored) and the finite min/max,
//             merged with atomicMin/Max on order-preserving keys (exact, scheduling-independent);
//   finalize  per group s and z from quant_math.h, and the scale range;
//   stats     grid-stride pass: moments, error, clip/underflow counts, shared-memory histograms.
#include "lowbit/kernels/quant_stats.h"
#include "lowbit/kernels/tensor_stats.h"

#include <cstddef>

#include "common/fake_quant_layout.h"
#include "common/quant_stats_math.h"
#include "cuda/common.cuh"

namespace lowbit::kernels {
namespace {

constexpr int kThreads = 256;
// Values one warp reduces in pass 1 (as launch_fake_quant: 64 per lane keeps loads in flight).
constexpr std::int64_t kReduceChunk = 2048;
// 48 KiB of default shared memory / 4-byte counters; more bins fall back to global atomics.
constexpr int kMaxSharedBins = 12288;

struct StatsArgs {
    int quantized;  // 0: no quantizer (log2 second histogram)
    int symmetric;
    int stochastic;
    unsigned long long seed;
    QuantBounds bounds;
    int uniform_bins;
    int second_bins;
    int log2_min_exponent;
    int log2_max_exponent;
};

__global__ static void quant_stats_init_kernel(QuantStatsAccum* acc,
                                               unsigned int* hi_keys,
                                               unsigned int* lo_keys,
                                               std::int64_t num_groups) {
    const std::int64_t g = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g == 0) {
        acc->min_key = 0xFFFFFFFFu;  // above every float key
        acc->max_key = 0u;           // below every float key
        acc->scale_min_key = 0xFFFFFFFFu;
        acc->scale_max_key = 0u;
    }
    if (g < num_groups) {
        hi_keys[g] = 0u;
        lo_keys[g] = 0xFFFFFFFFu;
    }
}

__global__ static void quant_stats_reduce_kernel(const float* __restrict__ x,
                                                 std::int64_t n,
                                                 std::int64_t group_len,
                                                 std::int64_t chunks_per_group,
                                                 std::int64_t num_tasks,
                                                 int quantized,
                                                 int symmetric,
                                                 unsigned int* hi_keys,
                                                 unsigned int* lo_keys,
                                                 QuantStatsAccum* acc) {
    const std::int64_t warp_global = team_index<kWarpSize>();
    const int lane = threadIdx.x % kWarpSize;
    if (warp_global >= num_tasks) {
        return;  // whole warp exits together: blockDim is a multiple of 32
    }
    const std::int64_t grp = warp_global / chunks_per_group;
    const std::int64_t begin = grp * group_len + (warp_global % chunks_per_group) * kReduceChunk;
    const std::int64_t group_end = (grp + 1) * group_len < n ? (grp + 1) * group_len : n;
    const std::int64_t end = begin + kReduceChunk < group_end ? begin + kReduceChunk : group_end;
    unsigned int hi = 0u, lo = 0xFFFFFFFFu;      // quantizer range (NaN ignored)
    unsigned int fmax = 0u, fmin = 0xFFFFFFFFu;  // finite range
    for (std::int64_t i = begin + lane; i < end; i += kWarpSize) {
        const float v = x[i];
        if (isnan(v)) {
            continue;
        }
        const unsigned int k = float_to_ordered_key(symmetric ? fabsf(v) : v);
        hi = k > hi ? k : hi;
        lo = k < lo ? k : lo;
        if (isfinite(v)) {
            const unsigned int kv = float_to_ordered_key(v);
            fmax = kv > fmax ? kv : fmax;
            fmin = kv < fmin ? kv : fmin;
        }
    }
    hi = warp_reduce_max(hi);
    lo = warp_reduce_min(lo);
    fmax = warp_reduce_max(fmax);
    fmin = warp_reduce_min(fmin);
    if (lane == 0) {
        if (quantized) {
            atomicMax(&hi_keys[grp], hi);
            atomicMin(&lo_keys[grp], lo);
        }
        if (fmax != 0u) {
            atomicMax(&acc->max_key, fmax);
            atomicMin(&acc->min_key, fmin);
        }
    }
}

__global__ static void quant_stats_finalize_kernel(float* scales,   // aliases hi_keys
                                                   float* offsets,  // aliases lo_keys
                                                   std::int64_t num_groups,
                                                   QuantBounds bounds,
                                                   float min_range,
                                                   int symmetric,
                                                   QuantStatsAccum* acc) {
    const std::int64_t g = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g >= num_groups) {
        return;
    }
    const unsigned int hi_key = reinterpret_cast<const unsigned int*>(scales)[g];
    const unsigned int lo_key = reinterpret_cast<const unsigned int*>(offsets)[g];
    const bool any = hi_key != 0u;  // 0: the group held only NaN; its range is [0, 0]
    const float hi = any ? ordered_key_to_float(hi_key) : 0.0f;
    const float lo = (any && !symmetric) ? ordered_key_to_float(lo_key) : 0.0f;
    float s = 0.0f;
    float z = 0.0f;
    quant_scale_zero(lo, hi, bounds, min_range, symmetric != 0, &s, &z);
    scales[g] = s;
    offsets[g] = z;
    const unsigned int key = float_to_ordered_key(s);
    atomicMin(&acc->scale_min_key, key);
    atomicMax(&acc->scale_max_key, key);
}

template <class Index, bool kSharedHistogram>
__global__ static void quant_stats_kernel(const float* __restrict__ x,
                                          Index n,
                                          Index group_len,
                                          const float* __restrict__ scales,
                                          const float* __restrict__ offsets,
                                          StatsArgs a,
                                          QuantStatsAccum* acc,
                                          unsigned long long* counts) {  // uniform, then second
    // (uniform_bins + second_bins,) per-block counts; a block sees far fewer than 2^32 values.
    extern __shared__ unsigned int shared_counts[];
    const int total_bins = a.uniform_bins + a.second_bins;
    if constexpr (kSharedHistogram) {
        for (int b = threadIdx.x; b < total_bins; b += blockDim.x) {
            shared_counts[b] = 0;
        }
        __syncthreads();
    }
    const bool any_finite = acc->max_key != 0u;
    const double lo = any_finite ? static_cast<double>(ordered_key_to_float(acc->min_key)) : 0.0;
    const double hi = any_finite ? static_cast<double>(ordered_key_to_float(acc->max_key)) : 0.0;

    unsigned long long c[9] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0};           // finite nan inf zero clo chi und slo shi
    double m[5] = {0.0, 0.0, 0.0, 0.0, 0.0};  // sum sumsq cube quad error
    const Index stride = static_cast<Index>(gridDim.x) * blockDim.x;
    for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float v = x[i];
        if (isnan(v)) {
            ++c[1];
            continue;
        }
        if (isinf(v)) {
            ++c[2];
            continue;
        }
        ++c[0];
        c[3] += v == 0.0f ? 1 : 0;
        const double vd = static_cast<double>(v);
        m[0] += vd;
        m[1] += vd * vd;
        m[2] += vd * vd * vd;
        m[3] += vd * vd * vd * vd;
        int bins[2];
        bins[0] = quant_stats_uniform_bin(v, lo, hi, a.uniform_bins);
        bins[1] = -1;
        if (a.quantized) {
            const Index g = i / group_len;  // 32-bit division when n < 2^32 (Index = uint32)
            const QuantElement e = quant_stats_element(v,
                                                       scales[g],
                                                       offsets[g],
                                                       a.bounds,
                                                       a.symmetric != 0,
                                                       a.stochastic != 0,
                                                       a.seed,
                                                       static_cast<std::uint64_t>(i));
            c[4] += e.clip < 0 ? 1 : 0;
            c[5] += e.clip > 0 ? 1 : 0;
            const double err = vd - static_cast<double>(e.xq);
            m[4] += err * err;
            c[6] += (v != 0.0f && e.xq == 0.0f) ? 1 : 0;
            if (!isnan(e.q)) {
                bins[1] = static_cast<int>(e.q - a.bounds.qn);
            }
        } else if (v != 0.0f) {
            const int e = stats_log2_exponent(v);
            if (e < a.log2_min_exponent) {
                ++c[7];
            } else if (e > a.log2_max_exponent) {
                ++c[8];
            } else {
                bins[1] = e - a.log2_min_exponent;
            }
        }
        for (int h = 0; h < 2; ++h) {
            if (bins[h] < 0) {
                continue;
            }
            const int slot = h == 0 ? bins[0] : a.uniform_bins + bins[1];
            if constexpr (kSharedHistogram) {
                atomicAdd(&shared_counts[slot], 1u);
            } else {
                atomicAdd(&counts[slot], 1ull);
            }
        }
    }

    // Block reduction: warp shuffles, then one value per warp through shared memory.
    constexpr int kWarps = kThreads / kWarpSize;
    __shared__ unsigned long long s_counts[9][kWarps];
    __shared__ double s_sums[5][kWarps];
    const int lane = threadIdx.x % kWarpSize;
    const int warp = threadIdx.x / kWarpSize;
    for (int j = 0; j < 9; ++j) {
        c[j] = warp_reduce_sum(c[j]);
    }
    for (int j = 0; j < 5; ++j) {
        m[j] = warp_reduce_sum(m[j]);
    }
    if (lane == 0) {
        for (int j = 0; j < 9; ++j) {
            s_counts[j][warp] = c[j];
        }
        for (int j = 0; j < 5; ++j) {
            s_sums[j][warp] = m[j];
        }
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        unsigned long long bc[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
        double bm[5] = {0.0, 0.0, 0.0, 0.0, 0.0};
        for (int w = 0; w < kWarps; ++w) {
            for (int j = 0; j < 9; ++j) {
                bc[j] += s_counts[j][w];
            }
            for (int j = 0; j < 5; ++j) {
                bm[j] += s_sums[j][w];
            }
        }
        unsigned long long* fields[9] = {&acc->finite_count,
                                         &acc->nan_count,
                                         &acc->inf_count,
                                         &acc->zero_count,
                                         &acc->clipped_low,
                                         &acc->clipped_high,
                                         &acc->underflow_count,
                                         &acc->second_low,
                                         &acc->second_high};
        for (int j = 0; j < 9; ++j) {
            if (bc[j] != 0) {
                atomicAdd(fields[j], bc[j]);
            }
        }
        if (bc[0] != 0) {
            atomicAdd(&acc->sum, bm[0]);
            atomicAdd(&acc->sumsq, bm[1]);
            atomicAdd(&acc->sum_cube, bm[2]);
            atomicAdd(&acc->sum_quad, bm[3]);
            atomicAdd(&acc->error_sumsq, bm[4]);
        }
    }
    if constexpr (kSharedHistogram) {
        __syncthreads();  // every thread's shared atomics are done
        for (int b = threadIdx.x; b < total_bins; b += blockDim.x) {
            if (shared_counts[b] != 0) {
                atomicAdd(&counts[b], static_cast<unsigned long long>(shared_counts[b]));
            }
        }
    }
}

template <class Index>
void launch_stats_kernel(const float* x,
                         std::int64_t n,
                         std::int64_t group_len,
                         const float* scales,
                         const float* offsets,
                         const StatsArgs& args,
                         QuantStatsAccum* acc,
                         unsigned long long* counts,
                         int blocks,
                         cudaStream_t stream) {
    const int total_bins = args.uniform_bins + args.second_bins;
    if (total_bins <= kMaxSharedBins) {
        const std::size_t shared = sizeof(unsigned int) * static_cast<std::size_t>(total_bins);
        quant_stats_kernel<Index, true>
            <<<blocks, kThreads, shared, stream>>>(x,
                                                   static_cast<Index>(n),
                                                   static_cast<Index>(group_len),
                                                   scales,
                                                   offsets,
                                                   args,
                                                   acc,
                                                   counts);
    } else {
        quant_stats_kernel<Index, false>
            <<<blocks, kThreads, 0, stream>>>(x,
                                              static_cast<Index>(n),
                                              static_cast<Index>(group_len),
                                              scales,
                                              offsets,
                                              args,
                                              acc,
                                              counts);
    }
}

}  // namespace

Status launch_quant_stats(const float* x_device,
                          std::int64_t rows,
                          std::int64_t cols,
                          const FakeQuantParams* params,
                          const QuantStatsSpec& spec,
                          void* result_device,
                          cudaStream_t stream) {
    const Status status = quant_stats_check_args(spec, params, rows, cols);
    if (status != Status::kOk) {
        return status;
    }
    const std::int64_t n = rows * cols;
    if (result_device == nullptr || (x_device == nullptr && n > 0) ||
        reinterpret_cast<std::uintptr_t>(result_device) % kQuantStatsResultAlign != 0) {
        return Status::kBadArgument;
    }
    auto* acc = static_cast<QuantStatsAccum*>(result_device);
    auto* counts = reinterpret_cast<unsigned long long*>(acc + 1);
    LOWBIT_CUDA_CHECK(
        cudaMemsetAsync(result_device, 0, quant_stats_result_bytes(spec, params), stream));

    FakeQuantLayout layout{n, n > 0 ? 1 : 0, n};
    if (params != nullptr) {
        layout = fake_quant_layout(*params, rows, cols);
    }
    const bool quantized = params != nullptr;
    // (num_groups,) range keys, then s and z in place: a stream-ordered workspace.
    DeviceBuffer workspace;
    unsigned int* hi_keys = nullptr;
    unsigned int* lo_keys = nullptr;
    if (quantized && layout.num_groups > 0) {
        LOWBIT_CUDA_CHECK(workspace.allocate(
            2 * sizeof(float) * static_cast<std::size_t>(layout.num_groups), stream));
        hi_keys = workspace.as<unsigned int>();
        lo_keys = hi_keys + layout.num_groups;
    }
    const std::int64_t init_items = quantized ? (layout.num_groups > 1 ? layout.num_groups : 1) : 1;
    quant_stats_init_kernel<<<static_cast<unsigned int>(ceil_div(init_items, kThreads)),
                              kThreads,
                              0,
                              stream>>>(acc, hi_keys, lo_keys, quantized ? layout.num_groups : 0);
    LOWBIT_CUDA_CHECK(cudaGetLastError());
    if (n == 0) {
        return Status::kOk;
    }

    const bool symmetric = quantized && params->symmetric;
    const std::int64_t chunks_per_group = ceil_div(layout.group_len, kReduceChunk);
    const std::int64_t num_tasks = layout.num_groups * chunks_per_group;
    const std::int64_t reduce_blocks = ceil_div(num_tasks * kWarpSize, kThreads);
    if (reduce_blocks > 0x7FFFFFFF) {
        return Status::kNoKernelForConfig;  // > 2^31 blocks: beyond any real tensor
    }
    quant_stats_reduce_kernel<<<static_cast<unsigned int>(reduce_blocks), kThreads, 0, stream>>>(
        x_device,
        n,
        layout.group_len,
        chunks_per_group,
        num_tasks,
        quantized ? 1 : 0,
        symmetric ? 1 : 0,
        hi_keys,
        lo_keys,
        acc);
    LOWBIT_CUDA_CHECK(cudaGetLastError());

    StatsArgs args{};
    args.quantized = quantized ? 1 : 0;
    args.symmetric = symmetric ? 1 : 0;
    args.uniform_bins = spec.uniform_bins;
    args.second_bins = quant_stats_second_bins(spec, params);
    args.log2_min_exponent = spec.log2_min_exponent;
    args.log2_max_exponent = spec.log2_max_exponent;
    float* scales = reinterpret_cast<float*>(hi_keys);
    float* offsets = reinterpret_cast<float*>(lo_keys);
    if (quantized) {
        args.stochastic = params->rounding == Rounding::kStochastic ? 1 : 0;
        args.seed = params->seed;
        args.bounds =
            quant_bounds(params->bits, params->symmetric, params->grid, params->is_signed);
        quant_stats_finalize_kernel<<<static_cast<unsigned int>(
                                          ceil_div(layout.num_groups, kThreads)),
                                      kThreads,
                                      0,
                                      stream>>>(scales,
                                                offsets,
                                                layout.num_groups,
                                                args.bounds,
                                                params->min_range,
                                                symmetric ? 1 : 0,
                                                acc);
        LOWBIT_CUDA_CHECK(cudaGetLastError());
    }

    const int blocks = grid_stride_blocks(n, kThreads);
    if (n < (std::int64_t{1} << 32) - kThreads * static_cast<std::int64_t>(blocks)) {
        launch_stats_kernel<std::uint32_t>(
            x_device, n, layout.group_len, scales, offsets, args, acc, counts, blocks, stream);
    } else {
        launch_stats_kernel<std::uint64_t>(
            x_device, n, layout.group_len, scales, offsets, args, acc, counts, blocks, stream);
    }
    LOWBIT_CUDA_CHECK(cudaGetLastError());
    return Status::kOk;
}

}  // namespace lowbit::kernels
