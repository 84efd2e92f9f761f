// launch_tensor_stats: statistics + histogram of a device float32 buffer. Grid-stride kernel;
// each block keeps a shared-memory histogram (shared-memory atomics are far cheaper than global
// ones under contention) and reduces its scalar stats with warp shuffles before one set of global
// atomics per block. The whole result (one struct + counts) comes back in one copy.
#include "lowbit/kernels/tensor_stats.h"

#include <cstddef>
#include <cstring>
#include <limits>
#include <vector>

#include "common/stats_math.h"
#include "common/tensor_stats_args.h"
#include "cuda/common.cuh"

namespace lowbit::kernels {
namespace {

constexpr int kStatsThreads = 256;
// 48 KiB of default shared memory / 4-byte counters; larger histograms use global atomics.
constexpr int kMaxSharedBins = 12288;

// Device result block, followed in the same allocation by (bins,) unsigned long long counts.
struct StatsAccum {
    unsigned long long nan_count;
    unsigned long long inf_count;
    unsigned long long zero_count;
    unsigned long long clipped_low;
    unsigned long long clipped_high;
    unsigned long long finite_count;
    double sum;
    double sumsq;
    unsigned int min_key;  // float_to_ordered_key; initialised to 0xFFFFFFFF
    unsigned int max_key;  // initialised to 0
};

struct StatsParams {
    int scheme;  // HistogramScheme as int
    int bins;
    double lo;
    double hi;
    int min_exponent;
    int max_exponent;
};

template <bool kSharedHistogram>
__global__ static void tensor_stats_kernel(const float* __restrict__ x,
                                           std::int64_t n,
                                           StatsParams p,
                                           StatsAccum* acc,
                                           unsigned long long* counts) {
    // (bins,) per-block counts. A block sees at most n / gridDim.x values, far below 2^32.
    extern __shared__ unsigned int shared_counts[];
    if constexpr (kSharedHistogram) {
        for (int b = threadIdx.x; b < p.bins; b += blockDim.x) {
            shared_counts[b] = 0;
        }
        __syncthreads();
    }
    unsigned long long nan_c = 0, inf_c = 0, zero_c = 0, low_c = 0, high_c = 0, finite_c = 0;
    double sum = 0.0, sumsq = 0.0;
    unsigned int min_key = 0xFFFFFFFFu, max_key = 0u;
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += stride) {
        const float v = x[i];
        if (isnan(v)) {
            ++nan_c;
            continue;
        }
        if (isinf(v)) {
            ++inf_c;
            continue;
        }
        ++finite_c;
        zero_c += v == 0.0f ? 1 : 0;
        const unsigned int key = float_to_ordered_key(v);
        min_key = key < min_key ? key : min_key;
        max_key = key > max_key ? key : max_key;
        const double vd = static_cast<double>(v);
        sum += vd;
        sumsq += vd * vd;
        if (p.bins == 0) {
            continue;
        }
        int b = -1;
        if (p.scheme == static_cast<int>(HistogramScheme::kUniform)) {
            b = stats_uniform_bin(v, p.lo, p.hi, p.bins);
        } else if (v != 0.0f) {
            const int e = stats_log2_exponent(v);
            b = e < p.min_exponent ? -1 : (e > p.max_exponent ? p.bins : e - p.min_exponent);
        } else {
            continue;  // log2 scheme: zeros are only counted in zero_count
        }
        if (b < 0) {
            ++low_c;
        } else if (b >= p.bins) {
            ++high_c;
        } else if constexpr (kSharedHistogram) {
            atomicAdd(&shared_counts[b], 1u);
        } else {
            atomicAdd(&counts[b], 1ull);
        }
    }

    // Block reduction: warp shuffles, then one value per warp through shared memory.
    nan_c = warp_reduce_sum(nan_c);
    inf_c = warp_reduce_sum(inf_c);
    zero_c = warp_reduce_sum(zero_c);
    low_c = warp_reduce_sum(low_c);
    high_c = warp_reduce_sum(high_c);
    finite_c = warp_reduce_sum(finite_c);
    sum = warp_reduce_sum(sum);
    sumsq = warp_reduce_sum(sumsq);
    min_key = warp_reduce_min(min_key);
    max_key = warp_reduce_max(max_key);
    constexpr int kWarps = kStatsThreads / kWarpSize;
    __shared__ unsigned long long s_counts[6][kWarps];
    __shared__ double s_sums[2][kWarps];
    __shared__ unsigned int s_keys[2][kWarps];
    const int lane = threadIdx.x % kWarpSize;
    const int warp = threadIdx.x / kWarpSize;
    if (lane == 0) {
        s_counts[0][warp] = nan_c;
        s_counts[1][warp] = inf_c;
        s_counts[2][warp] = zero_c;
        s_counts[3][warp] = low_c;
        s_counts[4][warp] = high_c;
        s_counts[5][warp] = finite_c;
        s_sums[0][warp] = sum;
        s_sums[1][warp] = sumsq;
        s_keys[0][warp] = min_key;
        s_keys[1][warp] = max_key;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        unsigned long long c[6] = {0, 0, 0, 0, 0, 0};
        double s0 = 0.0, s1 = 0.0;
        unsigned int kmin = 0xFFFFFFFFu, kmax = 0u;
        for (int w = 0; w < kWarps; ++w) {
            for (int j = 0; j < 6; ++j) {
                c[j] += s_counts[j][w];
            }
            s0 += s_sums[0][w];
            s1 += s_sums[1][w];
            kmin = s_keys[0][w] < kmin ? s_keys[0][w] : kmin;
            kmax = s_keys[1][w] > kmax ? s_keys[1][w] : kmax;
        }
        atomicAdd(&acc->nan_count, c[0]);
        atomicAdd(&acc->inf_count, c[1]);
        atomicAdd(&acc->zero_count, c[2]);
        atomicAdd(&acc->clipped_low, c[3]);
        atomicAdd(&acc->clipped_high, c[4]);
        if (c[5] > 0) {
            atomicAdd(&acc->finite_count, c[5]);
            atomicAdd(&acc->sum, s0);
            atomicAdd(&acc->sumsq, s1);
            atomicMin(&acc->min_key, kmin);
            atomicMax(&acc->max_key, kmax);
        }
    }
    if constexpr (kSharedHistogram) {
        for (int b = threadIdx.x; b < p.bins; b += blockDim.x) {
            if (shared_counts[b] != 0) {
                atomicAdd(&counts[b], static_cast<unsigned long long>(shared_counts[b]));
            }
        }
    }
}

}  // namespace

Status launch_tensor_stats(const float* x_device,
                           std::int64_t n,
                           const HistogramSpec& spec,
                           TensorStats* stats,
                           std::int64_t* counts,
                           cudaStream_t stream) {
    const Status status = tensor_stats_check_args(x_device, n, spec, stats, counts);
    if (status != Status::kOk) {
        return status;
    }
    const int bins = histogram_bin_count(spec);
    const std::size_t bytes = sizeof(StatsAccum) + sizeof(unsigned long long) * bins;
    DeviceBuffer buffer;
    LOWBIT_CUDA_CHECK(buffer.allocate(bytes, stream));
    auto* acc = buffer.as<StatsAccum>();
    auto* dev_counts =
        reinterpret_cast<unsigned long long*>(buffer.as<unsigned char>() + sizeof(StatsAccum));
    LOWBIT_CUDA_CHECK(cudaMemsetAsync(acc, 0, bytes, stream));
    LOWBIT_CUDA_CHECK(cudaMemsetAsync(&acc->min_key, 0xFF, sizeof(unsigned int), stream));

    StatsParams p{static_cast<int>(spec.scheme),
                  bins,
                  spec.lo,
                  spec.hi,
                  spec.min_exponent,
                  spec.max_exponent};
    if (n > 0) {
        const int blocks = grid_stride_blocks(n, kStatsThreads);
        if (bins <= kMaxSharedBins) {
            const std::size_t shared = sizeof(unsigned int) * static_cast<std::size_t>(bins);
            tensor_stats_kernel<true>
                <<<blocks, kStatsThreads, shared, stream>>>(x_device, n, p, acc, dev_counts);
        } else {
            tensor_stats_kernel<false>
                <<<blocks, kStatsThreads, 0, stream>>>(x_device, n, p, acc, dev_counts);
        }
        LOWBIT_CUDA_CHECK(cudaGetLastError());
    }
    std::vector<unsigned char> host(bytes);
    LOWBIT_CUDA_CHECK(cudaMemcpyAsync(host.data(), acc, bytes, cudaMemcpyDeviceToHost, stream));
    LOWBIT_CUDA_CHECK(cudaStreamSynchronize(stream));

    StatsAccum a;
    std::memcpy(&a, host.data(), sizeof(a));
    TensorStats s;
    s.n = n;
    s.nan_count = static_cast<std::int64_t>(a.nan_count);
    s.inf_count = static_cast<std::int64_t>(a.inf_count);
    s.zero_count = static_cast<std::int64_t>(a.zero_count);
    s.clipped_low = static_cast<std::int64_t>(a.clipped_low);
    s.clipped_high = static_cast<std::int64_t>(a.clipped_high);
    s.sum = a.sum;
    s.sumsq = a.sumsq;
    if (a.finite_count > 0) {
        s.min = ordered_key_to_float(a.min_key);
        s.max = ordered_key_to_float(a.max_key);
    } else {
        s.min = std::numeric_limits<float>::quiet_NaN();
        s.max = std::numeric_limits<float>::quiet_NaN();
    }
    for (int b = 0; b < bins; ++b) {
        unsigned long long c = 0;
        std::memcpy(&c, host.data() + sizeof(StatsAccum) + sizeof(c) * b, sizeof(c));
        counts[b] = static_cast<std::int64_t>(c);
    }
    *stats = s;
    return Status::kOk;
}

}  // namespace lowbit::kernels
