// launch_quantized_adam_step / launch_state_dequantize: the fused quantized-AdamW step on the GPU,
// bit-identical to quantized_adam_step_ref (the element arithmetic is common/quantized_adam_math.h
// with explicit round-to-nearest intrinsics, so nvcc cannot fuse a*b + c into an FMA).
// Pass 1 (per quantized moment): one warp per (group, chunk of kReduceChunk values) recomputes the
// new moment from the old codes and g and merges its extent into the group's slot with
// atomicMin/Max on order-preserving keys (exact, so scheduling-independent); a per-group kernel
// turns the keys into the new scale and offset. Pass 2: one thread per pair of elements (one
// packed byte) recomputes everything with the old scales, updates p and writes the new codes; the
// new scales are copied over the old ones afterwards, on the same stream.
#include "lowbit/kernels/quantized_adam.h"

#include "common/quantized_adam_math.h"
#include "cuda/common.cuh"

namespace lowbit::kernels {
namespace {

constexpr int kThreads = 256;
// Values one warp reduces in pass 1 (as launch_fake_quant): 64 per lane.
constexpr std::int64_t kReduceChunk = 2048;

// One moment as the kernels see it (passed by value).
struct MomentDevice {
    bool quantized;
    bool is_v;
    bool sqrt_mapping;
    bool symmetric;
    bool packed;
    QuantBounds bounds;
    std::int64_t group_len;
    float min_range;
    std::uint8_t* codes;
    const float* scales;  // old scales (pass 1 and 2 read them)
    const float* zero_points;
    float* values;           // float32 moment when not quantized
    float* unquantized_out;  // optional (n,): the values requantized into the codes
    float* new_s;            // (num_groups,) workspace: keys during pass 1, then the new scales
    float* new_z;

    __device__ float load_old(std::int64_t i) const {
        if (!quantized) {
            return values[i];
        }
        const std::int64_t g = i / group_len;
        return state_code_value(state_load_code(codes, i, packed),
                                scales[g],
                                symmetric ? 0.0f : zero_points[g],
                                bounds,
                                symmetric,
                                sqrt_mapping);
    }

    __device__ float new_stored_domain(std::int64_t i, float g, const AdamStepScalars& s) const {
        const float old = load_old(i);
        if (!is_v) {
            return adam_first_moment(old, g, s);
        }
        const float v = adam_second_moment(old, g, s);
        return sqrt_mapping ? qa_sqrt(v) : v;
    }

    __device__ float stored_domain(const AdamElementUpdate& u) const {
        return is_v ? (sqrt_mapping ? u.v_root : u.v) : u.m;
    }

    __device__ int new_code(std::int64_t i, float x) const {
        const std::int64_t g = i / group_len;
        return state_code_of(x, new_s[g], new_z[g], bounds, symmetric);
    }
};

__global__ static void quantized_adam_init_keys_kernel(unsigned int* hi_keys,
                                                       unsigned int* lo_keys,
                                                       std::int64_t num_groups) {
    const std::int64_t g = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g < num_groups) {
        hi_keys[g] = 0u;
        lo_keys[g] = 0xFFFFFFFFu;
    }
}

__global__ static void quantized_adam_reduce_kernel(MomentDevice mom,
                                                    const float* __restrict__ grad,
                                                    std::int64_t n,
                                                    std::int64_t chunks_per_group,
                                                    std::int64_t num_tasks,
                                                    AdamStepScalars scalars) {
    const std::int64_t warp_global =
        (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarpSize;
    const int lane = threadIdx.x % kWarpSize;
    if (warp_global >= num_tasks) {
        return;  // whole warp exits together: blockDim is a multiple of 32
    }
    const std::int64_t grp = warp_global / chunks_per_group;
    const std::int64_t begin =
        grp * mom.group_len + (warp_global % chunks_per_group) * kReduceChunk;
    std::int64_t end = (grp + 1) * mom.group_len;
    end = end < n ? end : n;
    end = begin + kReduceChunk < end ? begin + kReduceChunk : end;
    unsigned int hi = 0u;
    unsigned int lo = 0xFFFFFFFFu;
    for (std::int64_t i = begin + lane; i < end; i += kWarpSize) {
        const float x = mom.new_stored_domain(i, grad[i], scalars);
        if (isnan(x)) {
            continue;
        }
        const unsigned int k = float_to_ordered_key(mom.symmetric ? fabsf(x) : x);
        hi = k > hi ? k : hi;
        lo = k < lo ? k : lo;
    }
    hi = warp_reduce_max(hi);
    lo = warp_reduce_min(lo);
    if (lane == 0 && begin < end) {
        atomicMax(reinterpret_cast<unsigned int*>(mom.new_s) + grp, hi);
        if (!mom.symmetric) {
            atomicMin(reinterpret_cast<unsigned int*>(mom.new_z) + grp, lo);
        }
    }
}

__global__ static void quantized_adam_finalize_kernel(MomentDevice mom, std::int64_t num_groups) {
    const std::int64_t g = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (g >= num_groups) {
        return;
    }
    const unsigned int hi_key = reinterpret_cast<const unsigned int*>(mom.new_s)[g];
    const unsigned int lo_key = reinterpret_cast<const unsigned int*>(mom.new_z)[g];
    const float hi = hi_key == 0u ? 0.0f : ordered_key_to_float(hi_key);
    const float lo = mom.symmetric ? 0.0f : ordered_key_to_float(lo_key);
    float s = 0.0f;
    float z = 0.0f;
    quant_scale_zero(lo, hi, mom.bounds, mom.min_range, mom.symmetric, &s, &z);
    mom.new_s[g] = s;
    mom.new_z[g] = z;
}

__device__ inline void store_moment(const MomentDevice& mom,
                                    std::int64_t i,
                                    std::int64_t count,
                                    const AdamElementUpdate* u) {
    if (!mom.quantized) {
        for (std::int64_t k = 0; k < count; ++k) {
            mom.values[i + k] = mom.is_v ? u[k].v : u[k].m;
        }
        return;
    }
    const int c0 = mom.new_code(i, mom.stored_domain(u[0]));
    const int c1 = count > 1 ? mom.new_code(i + 1, mom.stored_domain(u[1])) : 0;
    if (mom.unquantized_out != nullptr) {
        for (std::int64_t k = 0; k < count; ++k) {
            mom.unquantized_out[i + k] = mom.stored_domain(u[k]);
        }
    }
    if (mom.packed) {
        mom.codes[i / 2] = static_cast<std::uint8_t>(c0 | (c1 << 4));
    } else {
        mom.codes[i] = static_cast<std::uint8_t>(c0);
        if (count > 1) {
            mom.codes[i + 1] = static_cast<std::uint8_t>(c1);
        }
    }
}

__global__ static void quantized_adam_update_kernel(float* __restrict__ param,
                                                    const float* __restrict__ grad,
                                                    std::int64_t n,
                                                    MomentDevice m,
                                                    MomentDevice v,
                                                    AdamStepScalars scalars) {
    const std::int64_t pairs = (n + 1) / 2;
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t pair = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
         pair < pairs;
         pair += stride) {
        const std::int64_t i = 2 * pair;
        const std::int64_t count = i + 1 < n ? 2 : 1;
        AdamElementUpdate u[2];
        for (std::int64_t k = 0; k < count; ++k) {
            u[k] = adam_element_update(
                param[i + k], grad[i + k], m.load_old(i + k), v.load_old(i + k), scalars);
        }
        // Both old codes of the byte are read above, before it is overwritten here.
        for (std::int64_t k = 0; k < count; ++k) {
            param[i + k] = u[k].param;
        }
        store_moment(m, i, count, u);
        store_moment(v, i, count, u);
    }
}

__global__ static void state_dequantize_kernel(MomentDevice mom, std::int64_t n, float* out) {
    const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += stride) {
        out[i] = mom.load_old(i);
    }
}

MomentDevice make_moment(const AdamMoment& moment,
                         bool is_v,
                         SecondMomentMapping mapping,
                         const StateQuantLayout* layout) {
    MomentDevice d{};
    d.quantized = moment.format != nullptr;
    d.is_v = is_v;
    d.values = moment.values;
    d.unquantized_out = moment.format != nullptr ? moment.unquantized_out : nullptr;
    if (d.quantized) {
        const StateQuantFormat& f = *moment.format;
        d.sqrt_mapping = is_v && mapping == SecondMomentMapping::kSqrt;
        d.symmetric = f.symmetric;
        d.packed = layout->packed;
        d.bounds = quant_bounds(f.bits, f.symmetric, f.grid);
        d.group_len = layout->group_len;
        d.min_range = f.min_range;
        d.codes = moment.quantized.codes;
        d.scales = moment.quantized.scales;
        d.zero_points = moment.quantized.zero_points;
    }
    return d;
}

// Pass 1 for one quantized moment: fills mom.new_s / new_z (num_groups each).
Status reduce_new_scales(const MomentDevice& mom,
                         const StateQuantLayout& layout,
                         const float* grad,
                         const AdamStepScalars& scalars,
                         cudaStream_t stream) {
    const auto group_blocks = static_cast<unsigned int>(ceil_div(layout.num_groups, kThreads));
    quantized_adam_init_keys_kernel<<<group_blocks, kThreads, 0, stream>>>(
        reinterpret_cast<unsigned int*>(mom.new_s),
        reinterpret_cast<unsigned int*>(mom.new_z),
        layout.num_groups);
    LOWBIT_CUDA_CHECK(cudaGetLastError());
    const std::int64_t chunks_per_group = ceil_div(layout.group_len, kReduceChunk);
    const std::int64_t num_tasks = layout.num_groups * chunks_per_group;
    const std::int64_t reduce_blocks = ceil_div(num_tasks * kWarpSize, kThreads);
    if (reduce_blocks > 0x7FFFFFFF) {
        return Status::kNoKernelForConfig;
    }
    quantized_adam_reduce_kernel<<<static_cast<unsigned int>(reduce_blocks), kThreads, 0, stream>>>(
        mom, grad, layout.n, chunks_per_group, num_tasks, scalars);
    LOWBIT_CUDA_CHECK(cudaGetLastError());
    quantized_adam_finalize_kernel<<<group_blocks, kThreads, 0, stream>>>(mom, layout.num_groups);
    LOWBIT_CUDA_CHECK(cudaGetLastError());
    return Status::kOk;
}

}  // namespace

Status launch_quantized_adam_step(const QuantizedAdamArgs& args, cudaStream_t stream) {
    const Status status = quantized_adam_check_args(args);
    if (status != Status::kOk || args.rows * args.cols == 0) {
        return status;
    }
    const std::int64_t n = args.rows * args.cols;
    StateQuantLayout m_layout;
    StateQuantLayout v_layout;
    if (args.m.format != nullptr) {
        m_layout = state_quant_layout(*args.m.format, args.rows, args.cols);
    }
    if (args.v.format != nullptr) {
        v_layout = state_quant_layout(*args.v.format, args.rows, args.cols);
    }
    MomentDevice m = make_moment(args.m, false, args.v_mapping, &m_layout);
    MomentDevice v = make_moment(args.v, true, args.v_mapping, &v_layout);

    // Workspace: new scale and offset of every group of each quantized moment.
    DeviceBuffer workspace;
    const std::int64_t floats = 2 * (m_layout.num_groups + v_layout.num_groups);
    if (floats > 0) {
        LOWBIT_CUDA_CHECK(
            workspace.allocate(sizeof(float) * static_cast<std::size_t>(floats), stream));
        float* base = workspace.as<float>();
        m.new_s = base;
        m.new_z = base + m_layout.num_groups;
        v.new_s = base + 2 * m_layout.num_groups;
        v.new_z = v.new_s + v_layout.num_groups;
    }
    if (m.quantized) {
        const Status s = reduce_new_scales(m, m_layout, args.grad, args.scalars, stream);
        if (s != Status::kOk) {
            return s;
        }
    }
    if (v.quantized) {
        const Status s = reduce_new_scales(v, v_layout, args.grad, args.scalars, stream);
        if (s != Status::kOk) {
            return s;
        }
    }
    const int blocks = grid_stride_blocks((n + 1) / 2, kThreads);
    quantized_adam_update_kernel<<<blocks, kThreads, 0, stream>>>(
        args.param, args.grad, n, m, v, args.scalars);
    LOWBIT_CUDA_CHECK(cudaGetLastError());
    // Replace the old scales only after the update kernel (stream order) has read them.
    for (const auto* pair : {&args.m, &args.v}) {
        const bool is_m = pair == &args.m;
        const MomentDevice& d = is_m ? m : v;
        const StateQuantLayout& l = is_m ? m_layout : v_layout;
        if (!d.quantized) {
            continue;
        }
        const std::size_t bytes = sizeof(float) * static_cast<std::size_t>(l.num_groups);
        LOWBIT_CUDA_CHECK(cudaMemcpyAsync(
            pair->quantized.scales, d.new_s, bytes, cudaMemcpyDeviceToDevice, stream));
        if (!d.symmetric) {
            LOWBIT_CUDA_CHECK(cudaMemcpyAsync(
                pair->quantized.zero_points, d.new_z, bytes, cudaMemcpyDeviceToDevice, stream));
        }
    }
    return Status::kOk;
}

Status launch_state_dequantize(const QuantizedStateBuffers& state_device,
                               std::int64_t rows,
                               std::int64_t cols,
                               const StateQuantFormat& format,
                               SecondMomentMapping mapping,
                               float* out_device,
                               cudaStream_t stream) {
    const Status status = state_quant_check_args(format, rows, cols);
    if (status != Status::kOk || rows * cols == 0) {
        return status;
    }
    if (out_device == nullptr || state_device.codes == nullptr || state_device.scales == nullptr ||
        (!format.symmetric && state_device.zero_points == nullptr)) {
        return Status::kBadArgument;
    }
    const StateQuantLayout layout = state_quant_layout(format, rows, cols);
    AdamMoment moment;
    moment.format = &format;
    moment.quantized = state_device;
    const MomentDevice d = make_moment(moment, true, mapping, &layout);
    const int blocks = grid_stride_blocks(layout.n, kThreads);
    state_dequantize_kernel<<<blocks, kThreads, 0, stream>>>(d, layout.n, out_device);
    LOWBIT_CUDA_CHECK(cudaGetLastError());
    return Status::kOk;
}

}  // namespace lowbit::kernels
