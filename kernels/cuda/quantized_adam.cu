// launch_quantized_adam_step / launch_state_dequantize: the fused quantized-AdamW step on the GPU,
// bit-identical to quantized_adam_step_ref (the element arithmetic is common/quantized_adam_math.h
// with explicit round-to-nearest intrinsics, so nvcc cannot fuse a*b + c into an FMA); see
// docs/kernels.md §CUDA quantized AdamW.
// One pass when the quantized moments share one even group length of at most kTeamGroupMax values
// (blocks of 256, rows of a few thousand): a team (a warp, or a block for longer groups) owns a
// group, reads p, g and the old codes once, keeps the new m, v and p in registers, reduces the new
// extents, computes the new scales and writes p, the codes and the scales.
// Otherwise three passes. Pass 1 (per quantized moment): one warp per (group, chunk of
// kReduceChunk values) recomputes the new moment from the old codes and g and merges its extent
// into the group's slot with atomicMin/Max on order-preserving keys (exact, so
// scheduling-independent); a per-group kernel turns the keys into the new scale and offset. Pass 2:
// one thread per pair of elements (one packed byte) recomputes everything with the old scales,
// updates p and writes the new codes; the new scales are copied over the old ones afterwards, on
// the same stream.
#include "lowbit/kernels/quantized_adam.h"

#include <cstdint>

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
    const std::int64_t warp_global = team_index<kWarpSize>();
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

// One-pass step. A team of kTeam threads (32: a warp; kThreads: a block) owns one group of
// group_len values; thread t holds the element pairs (2t + 2·kTeam·k, +1) for k < kPairs, so a
// packed code byte never has two owners. Every thread of the team computes the same new scales
// from the reduced keys; the old scales are read before the team's reduction, the new ones written
// after it.
struct TeamKeys {
    unsigned int m_hi, m_lo, v_hi, v_lo;
};

template <int kTeam>
__device__ inline TeamKeys team_reduce(TeamKeys k, TeamKeys* shared) {
    k.m_hi = warp_reduce_max(k.m_hi);
    k.m_lo = warp_reduce_min(k.m_lo);
    k.v_hi = warp_reduce_max(k.v_hi);
    k.v_lo = warp_reduce_min(k.v_lo);
    if constexpr (kTeam == kWarpSize) {
        k.m_hi = __shfl_sync(0xFFFFFFFFu, k.m_hi, 0);
        k.m_lo = __shfl_sync(0xFFFFFFFFu, k.m_lo, 0);
        k.v_hi = __shfl_sync(0xFFFFFFFFu, k.v_hi, 0);
        k.v_lo = __shfl_sync(0xFFFFFFFFu, k.v_lo, 0);
        return k;
    } else {
        constexpr int kWarps = kTeam / kWarpSize;
        const int warp = static_cast<int>(threadIdx.x) / kWarpSize;
        if (threadIdx.x % kWarpSize == 0) {
            shared[warp] = k;
        }
        __syncthreads();
        TeamKeys r{0u, 0xFFFFFFFFu, 0u, 0xFFFFFFFFu};
#pragma unroll
        for (int w = 0; w < kWarps; ++w) {
            r.m_hi = shared[w].m_hi > r.m_hi ? shared[w].m_hi : r.m_hi;
            r.m_lo = shared[w].m_lo < r.m_lo ? shared[w].m_lo : r.m_lo;
            r.v_hi = shared[w].v_hi > r.v_hi ? shared[w].v_hi : r.v_hi;
            r.v_lo = shared[w].v_lo < r.v_lo ? shared[w].v_lo : r.v_lo;
        }
        return r;
    }
}

__device__ inline void extend_state_keys(float x,
                                         bool symmetric,
                                         unsigned int& hi,
                                         unsigned int& lo) {
    if (isnan(x)) {
        return;  // as pass 1
    }
    const unsigned int k = float_to_ordered_key(symmetric ? fabsf(x) : x);
    hi = k > hi ? k : hi;
    lo = k < lo ? k : lo;
}

// New scale and offset of a moment's group from its keys, as quantized_adam_finalize_kernel.
__device__ inline void state_scale_of_keys(
    const MomentDevice& mom, unsigned int hi_key, unsigned int lo_key, float* s, float* z) {
    const float hi = hi_key == 0u ? 0.0f : ordered_key_to_float(hi_key);
    const float lo = mom.symmetric ? 0.0f : ordered_key_to_float(lo_key);
    quant_scale_zero(lo, hi, mom.bounds, mom.min_range, mom.symmetric, s, z);
}

// Where a thread's pair starting at element i stands in its group, which ends at `end`.
struct PairSlot {
    std::int64_t i;
    bool present;    // i < end
    bool both;       // i + 1 < end too
    bool vector_ok;  // both, and the buffers allow one access for the pair
};

__device__ inline PairSlot pair_slot(std::int64_t i, std::int64_t end, bool aligned) {
    const bool both = i + 1 < end;
    return {i, i < end, both, both && aligned};
}

// One pair of neighbouring elements (i, i + 1) as the one-pass kernel reads it.
struct PairInput {
    float p[2];
    float g[2];
    float m_old[2];
    float v_old[2];
};

// Moment values of the pair at even i: codes (one byte each, or two nibbles of one byte) or
// float32 values, with 2-, 1- or 8-byte loads when `vector_ok` (both elements present, buffers
// aligned for it).
__device__ inline void load_moment_pair(const MomentDevice& mom,
                                        std::int64_t i,
                                        bool both,
                                        bool vector_ok,
                                        float s,
                                        float z,
                                        float (&out)[2]) {
    if (!mom.quantized) {
        if (vector_ok) {
            const float2 f = *reinterpret_cast<const float2*>(mom.values + i);
            out[0] = f.x;
            out[1] = f.y;
        } else {
            out[0] = mom.values[i];
            out[1] = both ? mom.values[i + 1] : 0.0f;
        }
        return;
    }
    int c0 = 0;
    int c1 = 0;
    if (mom.packed) {
        const int byte = mom.codes[i >> 1];
        c0 = byte & 0xF;
        c1 = byte >> 4;
    } else if (vector_ok) {
        const unsigned int two = *reinterpret_cast<const unsigned short*>(mom.codes + i);
        c0 = static_cast<int>(two & 0xFFu);
        c1 = static_cast<int>(two >> 8);
    } else {
        c0 = mom.codes[i];
        c1 = both ? mom.codes[i + 1] : 0;
    }
    const float zz = mom.symmetric ? 0.0f : z;
    out[0] = state_code_value(c0, s, zz, mom.bounds, mom.symmetric, mom.sqrt_mapping);
    out[1] = state_code_value(c1, s, zz, mom.bounds, mom.symmetric, mom.sqrt_mapping);
}

// Writes the pair's new moment: float32 values, or codes with the group's new scale and offset
// (and the values they quantize, when asked for).
__device__ inline void store_moment_pair(const MomentDevice& mom,
                                         std::int64_t i,
                                         bool both,
                                         bool vector_ok,
                                         const AdamElementUpdate (&u)[2],
                                         float s,
                                         float z) {
    if (!mom.quantized) {
        const float a = mom.is_v ? u[0].v : u[0].m;
        const float b = mom.is_v ? u[1].v : u[1].m;
        if (vector_ok) {
            *reinterpret_cast<float2*>(mom.values + i) = make_float2(a, b);
        } else {
            mom.values[i] = a;
            if (both) {
                mom.values[i + 1] = b;
            }
        }
        return;
    }
    const float x0 = mom.stored_domain(u[0]);
    const float x1 = both ? mom.stored_domain(u[1]) : 0.0f;
    const int c0 = state_code_of(x0, s, z, mom.bounds, mom.symmetric);
    const int c1 = both ? state_code_of(x1, s, z, mom.bounds, mom.symmetric) : 0;
    if (mom.unquantized_out != nullptr) {
        mom.unquantized_out[i] = x0;
        if (both) {
            mom.unquantized_out[i + 1] = x1;
        }
    }
    if (mom.packed) {
        mom.codes[i >> 1] = static_cast<std::uint8_t>(c0 | (c1 << 4));
    } else if (vector_ok) {
        *reinterpret_cast<unsigned short*>(mom.codes + i) =
            static_cast<unsigned short>(c0 | (c1 << 8));
    } else {
        mom.codes[i] = static_cast<std::uint8_t>(c0);
        if (both) {
            mom.codes[i + 1] = static_cast<std::uint8_t>(c1);
        }
    }
}

// Up to four pairs a thread: at least four blocks per multiprocessor (64 registers a thread), since
// the step is bound by instruction latency and the extra warps hide more of it.
template <int kTeam, int kPairs>
__global__ static void __launch_bounds__(kThreads, kPairs <= 4 ? 4 : 1)
    quantized_adam_one_pass_kernel(float* __restrict__ param,
                                   const float* __restrict__ grad,
                                   std::int64_t n,
                                   std::int64_t num_groups,
                                   int group_len,
                                   bool aligned,  // p, g, float32 moments 8-byte, codes 2-byte
                                   MomentDevice m,
                                   MomentDevice v,
                                   float* m_scales,  // (num_groups,) the stored scales, updated
                                   float* m_zero_points,
                                   float* v_scales,
                                   float* v_zero_points,
                                   AdamStepScalars scalars) {
    __shared__ TeamKeys shared[kThreads / kWarpSize];
    const std::int64_t group = team_index<kTeam>();
    if (group >= num_groups) {
        return;  // a whole team exits together (kTeam divides blockDim)
    }
    const int t = static_cast<int>(threadIdx.x) % kTeam;
    const std::int64_t base = group * group_len;
    std::int64_t end = base + group_len;
    end = end < n ? end : n;
    // The group's old scales and offsets, read once by every thread of the team.
    const float m_old_s = m.quantized ? m_scales[group] : 0.0f;
    const float m_old_z = m.quantized && !m.symmetric ? m_zero_points[group] : 0.0f;
    const float v_old_s = v.quantized ? v_scales[group] : 0.0f;
    const float v_old_z = v.quantized && !v.symmetric ? v_zero_points[group] : 0.0f;
    // Every load first, so that each thread has all its pairs in flight.
    PairInput in[kPairs];
#pragma unroll
    for (int k = 0; k < kPairs; ++k) {
        const PairSlot slot = pair_slot(base + 2 * t + 2 * kTeam * k, end, aligned);
        if (!slot.present) {
            continue;
        }
        const std::int64_t i = slot.i;
        if (slot.vector_ok) {
            const float2 p2 = *reinterpret_cast<const float2*>(param + i);
            const float2 g2 = *reinterpret_cast<const float2*>(grad + i);
            in[k].p[0] = p2.x;
            in[k].p[1] = p2.y;
            in[k].g[0] = g2.x;
            in[k].g[1] = g2.y;
        } else {
            in[k].p[0] = param[i];
            in[k].g[0] = grad[i];
            in[k].p[1] = slot.both ? param[i + 1] : 0.0f;
            in[k].g[1] = slot.both ? grad[i + 1] : 0.0f;
        }
        load_moment_pair(m, i, slot.both, slot.vector_ok, m_old_s, m_old_z, in[k].m_old);
        load_moment_pair(v, i, slot.both, slot.vector_ok, v_old_s, v_old_z, in[k].v_old);
    }
    AdamElementUpdate u[kPairs][2];
    TeamKeys keys{0u, 0xFFFFFFFFu, 0u, 0xFFFFFFFFu};
#pragma unroll
    for (int k = 0; k < kPairs; ++k) {
        const std::int64_t i = base + 2 * t + 2 * kTeam * k;
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            if (i + e < end) {
                u[k][e] = adam_element_update(
                    in[k].p[e], in[k].g[e], in[k].m_old[e], in[k].v_old[e], scalars);
                if (m.quantized) {
                    extend_state_keys(m.stored_domain(u[k][e]), m.symmetric, keys.m_hi, keys.m_lo);
                }
                if (v.quantized) {
                    extend_state_keys(v.stored_domain(u[k][e]), v.symmetric, keys.v_hi, keys.v_lo);
                }
            }
        }
    }
    // Every old code and scale of the group has been read above; the reduction orders the team.
    keys = team_reduce<kTeam>(keys, shared);
    float ms = 0.0f, mz = 0.0f, vs = 0.0f, vz = 0.0f;
    if (m.quantized) {
        state_scale_of_keys(m, keys.m_hi, keys.m_lo, &ms, &mz);
    }
    if (v.quantized) {
        state_scale_of_keys(v, keys.v_hi, keys.v_lo, &vs, &vz);
    }
#pragma unroll
    for (int k = 0; k < kPairs; ++k) {
        const PairSlot slot = pair_slot(base + 2 * t + 2 * kTeam * k, end, aligned);
        if (!slot.present) {
            continue;
        }
        const std::int64_t i = slot.i;
        if (slot.vector_ok) {
            *reinterpret_cast<float2*>(param + i) = make_float2(u[k][0].param, u[k][1].param);
        } else {
            param[i] = u[k][0].param;
            if (slot.both) {
                param[i + 1] = u[k][1].param;
            }
        }
        store_moment_pair(m, i, slot.both, slot.vector_ok, u[k], ms, mz);
        store_moment_pair(v, i, slot.both, slot.vector_ok, u[k], vs, vz);
    }
    if (t == 0) {
        if (m.quantized) {
            m_scales[group] = ms;
            if (!m.symmetric) {
                m_zero_points[group] = mz;
            }
        }
        if (v.quantized) {
            v_scales[group] = vs;
            if (!v.symmetric) {
                v_zero_points[group] = vz;
            }
        }
    }
}

// Values a team's group may hold: 16 pairs per thread of a block.
constexpr std::int64_t kTeamGroupMax = 2 * 16 * kThreads;

// The one-pass kernel when the quantized moments (at least one) share a group length that is
// even (or a single group), at most kTeamGroupMax; kNoKernelForConfig otherwise.
Status launch_one_pass(const QuantizedAdamArgs& args,
                       std::int64_t n,
                       const MomentDevice& m,
                       const MomentDevice& v,
                       const StateQuantLayout& m_layout,
                       const StateQuantLayout& v_layout,
                       cudaStream_t stream) {
    if (!m.quantized && !v.quantized) {
        return Status::kNoKernelForConfig;
    }
    const StateQuantLayout& layout = m.quantized ? m_layout : v_layout;
    if (m.quantized && v.quantized && m_layout.group_len != v_layout.group_len) {
        return Status::kNoKernelForConfig;
    }
    const std::int64_t len = layout.group_len;
    if (len > kTeamGroupMax || (len % 2 != 0 && layout.num_groups > 1)) {
        return Status::kNoKernelForConfig;
    }
    const auto group_len = static_cast<int>(len);
    float* ms = args.m.quantized.scales;
    float* mz = args.m.quantized.zero_points;
    float* vs = args.v.quantized.scales;
    float* vz = args.v.quantized.zero_points;
    const std::int64_t groups = layout.num_groups;
    // Pairs move as one 8-byte (p, g, float32 moments) or 2-byte (8-bit codes) access when the
    // buffers allow it; groups start on even elements.
    auto on = [](const void* ptr, std::uintptr_t bytes) {
        return ptr == nullptr || reinterpret_cast<std::uintptr_t>(ptr) % bytes == 0;
    };
    const bool aligned = on(args.param, 8) && on(args.grad, 8) && on(m.values, 8) &&
                         on(v.values, 8) && on(m.codes, 2) && on(v.codes, 2);
    auto launch_team = [&](auto kernel, int team) -> Status {
        const std::int64_t blocks = ceil_div(groups * team, kThreads);
        if (blocks > 0x7FFFFFFF) {
            return Status::kNoKernelForConfig;
        }
        kernel<<<static_cast<unsigned int>(blocks), kThreads, 0, stream>>>(args.param,
                                                                           args.grad,
                                                                           n,
                                                                           groups,
                                                                           group_len,
                                                                           aligned,
                                                                           m,
                                                                           v,
                                                                           ms,
                                                                           mz,
                                                                           vs,
                                                                           vz,
                                                                           args.scalars);
        LOWBIT_CUDA_CHECK(cudaGetLastError());
        return Status::kOk;
    };
    if (len <= 2 * kWarpSize * 2) {
        return launch_team(quantized_adam_one_pass_kernel<kWarpSize, 2>, kWarpSize);
    }
    if (len <= 2 * kWarpSize * 4) {
        return launch_team(quantized_adam_one_pass_kernel<kWarpSize, 4>, kWarpSize);
    }
    if (len <= 2 * kWarpSize * 8) {
        return launch_team(quantized_adam_one_pass_kernel<kWarpSize, 8>, kWarpSize);
    }
    if (len <= 2 * kThreads * 4) {
        return launch_team(quantized_adam_one_pass_kernel<kThreads, 4>, kThreads);
    }
    return launch_team(quantized_adam_one_pass_kernel<kThreads, 16>, kThreads);
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
    const Status one_pass = launch_one_pass(args, n, m, v, m_layout, v_layout, stream);
    if (one_pass != Status::kNoKernelForConfig) {
        return one_pass;
    }

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
