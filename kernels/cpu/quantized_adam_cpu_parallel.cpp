// quantized_adam_step_cpu_parallel: the fused quantized-AdamW step on the kernels' thread pool,
// bit-identical to quantized_adam_step_ref without ever holding a float32 copy of a whole state.
// - Tile path (per-row / per-block groups of at most kTileMax values, the same groups for m and
//   v): tasks own whole groups; per group the old codes are decoded into a tile, one vector sweep
//   updates p and keeps m_t, v_t in tiles, then the group's new scale is reduced and its codes
//   written (quantized_adam_simd.h, docs/kernels.md §Vector loops).
// - Two-pass path (per-tensor, long rows, or m and v grouped differently): pass 1 recomputes m_t
//   (v_t) from the old codes and g only to reduce each group's new extent, chunk by chunk (exact
//   min/max, so order-free); pass 2 recomputes them with the same float operations, updates p and
//   writes the new codes. The old scales stay readable until pass 2 has finished.
#include "lowbit/kernels/quantized_adam.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "common/quantized_adam_math.h"
#include "cpu/fake_quant_simd.h"
#include "cpu/parallel_for.h"
#include "cpu/quantized_adam_simd.h"

namespace lowbit::kernels {
namespace {

// 16 Ki values: two float tiles of 64 KiB per thread stay in L2, and bitsandbytes-size blocks
// (256) or rows up to 16 Ki wide take the one-pass path.
constexpr std::int64_t kTileMax = std::int64_t{1} << 14;
// Values per task of the two-pass path (even, so packed bytes never straddle two tasks).
constexpr std::int64_t kChunk = std::int64_t{1} << 14;

// One moment with everything its element loops need.
struct MomentView {
    const AdamMoment* moment = nullptr;
    bool quantized = false;
    bool is_v = false;
    bool sqrt_mapping = false;  // v stored as sqrt(v)
    StateQuantLayout layout;
    QuantBounds bounds{};
    bool symmetric = true;
    float min_range = 0.0f;

    float load_old(std::int64_t i) const {
        if (!quantized) {
            return moment->values[i];
        }
        const std::int64_t g = i / layout.group_len;
        const QuantizedStateBuffers& q = moment->quantized;
        return state_code_value(state_load_code(q.codes, i, layout.packed),
                                q.scales[g],
                                symmetric ? 0.0f : q.zero_points[g],
                                bounds,
                                symmetric,
                                sqrt_mapping);
    }

    // Old scale and offset of group g (0 when the moment is float32).
    void old_group_scale(std::int64_t g, float* s, float* z) const {
        *s = quantized ? moment->quantized.scales[g] : 0.0f;
        *z = (quantized && !symmetric) ? moment->quantized.zero_points[g] : 0.0f;
    }

    // The value this moment quantizes for element i: m_t, v_t or sqrt(v_t).
    float stored_domain(const AdamElementUpdate& u) const {
        return is_v ? (sqrt_mapping ? u.v_root : u.v) : u.m;
    }

    // Hands element i's requantized value to the optional unquantized_out.
    void tap(std::int64_t i, const AdamElementUpdate& u) const {
        if (moment->unquantized_out != nullptr) {
            moment->unquantized_out[i] = stored_domain(u);
        }
    }

    // New moment of element i from its old value and g (pass 1 of the two-pass path).
    float new_stored_domain(std::int64_t i, float g, const AdamStepScalars& s) const {
        const float old = load_old(i);
        if (!is_v) {
            return adam_first_moment(old, g, s);
        }
        const float v = adam_second_moment(old, g, s);
        return sqrt_mapping ? qa_sqrt(v) : v;
    }
};

MomentView make_view(const AdamMoment& moment,
                     bool is_v,
                     SecondMomentMapping mapping,
                     std::int64_t rows,
                     std::int64_t cols) {
    MomentView view;
    view.moment = &moment;
    view.is_v = is_v;
    view.quantized = moment.format != nullptr;
    if (view.quantized) {
        const StateQuantFormat& f = *moment.format;
        view.sqrt_mapping = is_v && mapping == SecondMomentMapping::kSqrt;
        view.layout = state_quant_layout(f, rows, cols);
        view.bounds = quant_bounds(f.bits, f.symmetric, f.grid);
        view.symmetric = f.symmetric;
        view.min_range = f.min_range;
    }
    return view;
}

StateExtent first_extent(float x, bool symmetric) {
    return symmetric ? StateExtent{0.0f, 0.0f} : StateExtent{x, x};
}

// New scale and offset of group g from its extent, written to (s, z).
void group_scale(const MomentView& view, StateExtent e, float* s, float* z) {
    quant_scale_zero(e.lo, e.hi, view.bounds, view.min_range, view.symmetric, s, z);
}

// Tile path: quantize tile[0, end - begin) (group g, begin even or unpacked) into the state;
// code_scratch holds end - begin bytes.
void store_group(const MomentView& view,
                 const float* tile,
                 std::int64_t g,
                 std::int64_t begin,
                 std::int64_t end,
                 std::uint8_t* code_scratch) {
    const std::int64_t len = end - begin;
    // simd_block_extent's scan is state_extent_add's (seeded with tile[0]; absmax from 0).
    const BlockExtent extent = simd_block_extent(tile, len, view.symmetric);
    float s = 0.0f;
    float z = 0.0f;
    group_scale(view, StateExtent{extent.lo, extent.hi}, &s, &z);
    const QuantizedStateBuffers& q = view.moment->quantized;
    q.scales[g] = s;
    if (!view.symmetric) {
        q.zero_points[g] = z;
    }
    if (!view.layout.packed) {
        simd_state_encode(tile, len, s, z, view.bounds, view.symmetric, q.codes + begin);
        return;
    }
    simd_state_encode(tile, len, s, z, view.bounds, view.symmetric, code_scratch);
    for (std::int64_t i = 0; i < len; i += 2) {
        const int hi = i + 1 < len ? code_scratch[i + 1] : 0;
        q.codes[(begin + i) / 2] = static_cast<std::uint8_t>(code_scratch[i] | (hi << 4));
    }
}

// Tile path: the old values of group g's elements [begin, end) into out (float32).
void load_group(const MomentView& view,
                std::int64_t g,
                std::int64_t begin,
                std::int64_t end,
                std::uint8_t* code_scratch,
                float* out) {
    float s = 0.0f;
    float z = 0.0f;
    view.old_group_scale(g, &s, &z);
    const std::uint8_t* codes = view.moment->quantized.codes;
    if (view.layout.packed) {
        for (std::int64_t i = begin; i < end; ++i) {
            code_scratch[i - begin] = static_cast<std::uint8_t>(state_load_code(codes, i, true));
        }
        codes = code_scratch;
    } else {
        codes += begin;
    }
    simd_state_decode(
        codes, end - begin, s, z, view.bounds, view.symmetric, view.sqrt_mapping, out);
}

// Whether every quantized moment has the same groups, small enough for a tile, starting on a
// byte boundary when packed. Returns the common group length (kChunk when nothing is quantized).
std::int64_t tile_group_len(const MomentView& m, const MomentView& v) {
    std::int64_t len = 0;
    for (const MomentView* view : {&m, &v}) {
        if (!view->quantized) {
            continue;
        }
        const StateQuantLayout& l = view->layout;
        const bool aligned = !l.packed || l.group_len % 2 == 0 || l.num_groups == 1;
        if (l.group_len > kTileMax || !aligned || (len != 0 && len != l.group_len)) {
            return 0;
        }
        len = l.group_len;
    }
    return len == 0 ? kChunk : len;
}

void step_tiles(const QuantizedAdamArgs& args,
                const MomentView& m,
                const MomentView& v,
                std::int64_t group_len,
                int threads) {
    const std::int64_t n = args.rows * args.cols;
    const std::int64_t num_groups = (n + group_len - 1) / group_len;
    parallel_for_blocks(num_groups, threads, [&](std::int64_t g0, std::int64_t g1, int) {
        // Per task: old and new values of each quantized moment, and code bytes.
        const auto tile = static_cast<std::size_t>(group_len);
        std::vector<float> old_m(m.quantized ? tile : 0), new_m(old_m.size());
        std::vector<float> old_v(v.quantized ? tile : 0), new_v(old_v.size());
        std::vector<std::uint8_t> codes(tile);
        for (std::int64_t g = g0; g < g1; ++g) {
            const std::int64_t begin = g * group_len;
            const std::int64_t end = std::min(n, begin + group_len);
            const std::int64_t len = end - begin;
            // Groups of m and v coincide here: decode each group once, update in one sweep.
            if (m.quantized) {
                load_group(m, g, begin, end, codes.data(), old_m.data());
            }
            if (v.quantized) {
                load_group(v, g, begin, end, codes.data(), old_v.data());
            }
            float* m_in = m.quantized ? old_m.data() : args.m.values + begin;
            float* v_in = v.quantized ? old_v.data() : args.v.values + begin;
            float* m_out = m.quantized ? new_m.data() : args.m.values + begin;
            float* v_out = v.quantized ? new_v.data() : args.v.values + begin;
            // A quantized v keeps its stored domain: sqrt(v_t) under the sqrt mapping.
            simd_adam_update(args.param + begin,
                             args.grad + begin,
                             m_in,
                             v_in,
                             len,
                             args.scalars,
                             m_out,
                             v_out,
                             v.quantized && v.sqrt_mapping);
            for (const auto& [view, values] :
                 {std::pair{&m, new_m.data()}, std::pair{&v, new_v.data()}}) {
                if (!view->quantized) {
                    continue;
                }
                if (view->moment->unquantized_out != nullptr) {
                    std::copy(values, values + len, view->moment->unquantized_out + begin);
                }
                store_group(*view, values, g, begin, end, codes.data());
            }
        }
    });
}

// Pass 1 of the two-pass path for one quantized moment: new (num_groups,) scales and offsets.
void reduce_new_scales(const QuantizedAdamArgs& args,
                       const MomentView& view,
                       int threads,
                       std::vector<float>* new_s,
                       std::vector<float>* new_z) {
    const StateQuantLayout& l = view.layout;
    const std::int64_t chunks_per_group = (l.group_len + kChunk - 1) / kChunk;
    const std::int64_t num_tasks = l.num_groups * chunks_per_group;
    std::vector<StateExtent> extents(static_cast<std::size_t>(num_tasks));
    std::vector<char> non_empty(static_cast<std::size_t>(num_tasks), 0);
    parallel_for_blocks(num_tasks, threads, [&](std::int64_t k0, std::int64_t k1, int) {
        for (std::int64_t k = k0; k < k1; ++k) {
            const std::int64_t g = k / chunks_per_group;
            const std::int64_t begin = g * l.group_len + (k % chunks_per_group) * kChunk;
            const std::int64_t end = std::min({l.n, (g + 1) * l.group_len, begin + kChunk});
            if (begin >= end) {
                continue;  // tail chunk of the shorter last block
            }
            StateExtent e = first_extent(
                view.new_stored_domain(begin, args.grad[begin], args.scalars), view.symmetric);
            for (std::int64_t i = begin; i < end; ++i) {
                state_extent_add(
                    &e, view.new_stored_domain(i, args.grad[i], args.scalars), view.symmetric);
            }
            extents[static_cast<std::size_t>(k)] = e;
            non_empty[static_cast<std::size_t>(k)] = 1;
        }
    });
    new_s->assign(static_cast<std::size_t>(l.num_groups), 0.0f);
    new_z->assign(static_cast<std::size_t>(l.num_groups), 0.0f);
    for (std::int64_t g = 0; g < l.num_groups; ++g) {
        StateExtent e = extents[static_cast<std::size_t>(g * chunks_per_group)];
        for (std::int64_t c = 1; c < chunks_per_group; ++c) {
            const auto k = static_cast<std::size_t>(g * chunks_per_group + c);
            if (non_empty[k] != 0) {
                e.lo = extents[k].lo < e.lo ? extents[k].lo : e.lo;
                e.hi = e.hi < extents[k].hi ? extents[k].hi : e.hi;
            }
        }
        group_scale(view,
                    e,
                    &(*new_s)[static_cast<std::size_t>(g)],
                    &(*new_z)[static_cast<std::size_t>(g)]);
    }
}

// Writes the new code of element i (pending holds the low nibble of an even i when packed).
void write_code(const MomentView& view,
                std::int64_t i,
                std::int64_t n,
                float x,
                const std::vector<float>& new_s,
                const std::vector<float>& new_z,
                int* pending) {
    const auto g = static_cast<std::size_t>(i / view.layout.group_len);
    const int code = state_code_of(x, new_s[g], new_z[g], view.bounds, view.symmetric);
    std::uint8_t* codes = view.moment->quantized.codes;
    if (!view.layout.packed) {
        codes[i] = static_cast<std::uint8_t>(code);
    } else if (i % 2 == 0) {
        *pending = code;
        if (i + 1 == n) {
            codes[i / 2] = static_cast<std::uint8_t>(code);  // odd n: lone low nibble
        }
    } else {
        codes[i / 2] = static_cast<std::uint8_t>(*pending | (code << 4));
    }
}

void step_two_pass(const QuantizedAdamArgs& args,
                   const MomentView& m,
                   const MomentView& v,
                   int threads) {
    const std::int64_t n = args.rows * args.cols;
    std::vector<float> m_s, m_z, v_s, v_z;
    if (m.quantized) {
        reduce_new_scales(args, m, threads, &m_s, &m_z);
    }
    if (v.quantized) {
        reduce_new_scales(args, v, threads, &v_s, &v_z);
    }
    const std::int64_t num_tasks = (n + kChunk - 1) / kChunk;
    parallel_for_blocks(num_tasks, threads, [&](std::int64_t k0, std::int64_t k1, int) {
        int m_pending = 0;
        int v_pending = 0;
        for (std::int64_t i = k0 * kChunk; i < std::min(n, k1 * kChunk); ++i) {
            // The old codes of i (and its byte partner i + 1) are read before the byte is written.
            const AdamElementUpdate u = adam_element_update(
                args.param[i], args.grad[i], m.load_old(i), v.load_old(i), args.scalars);
            args.param[i] = u.param;
            if (m.quantized) {
                write_code(m, i, n, u.m, m_s, m_z, &m_pending);
                m.tap(i, u);
            } else {
                args.m.values[i] = u.m;
            }
            if (v.quantized) {
                write_code(v, i, n, v.stored_domain(u), v_s, v_z, &v_pending);
                v.tap(i, u);
            } else {
                args.v.values[i] = u.v;
            }
        }
    });
    // Only now may the old scales be replaced.
    for (const auto& [view, s, z] : {std::tie(m, m_s, m_z), std::tie(v, v_s, v_z)}) {
        if (!view.quantized) {
            continue;
        }
        std::copy(s.begin(), s.end(), view.moment->quantized.scales);
        if (!view.symmetric) {
            std::copy(z.begin(), z.end(), view.moment->quantized.zero_points);
        }
    }
}

}  // namespace

Status quantized_adam_step_cpu_parallel(const QuantizedAdamArgs& args, int num_threads) {
    const Status status = quantized_adam_check_args(args);
    if (status != Status::kOk || args.rows * args.cols == 0) {
        return status;
    }
    const MomentView m = make_view(args.m, false, args.v_mapping, args.rows, args.cols);
    const MomentView v = make_view(args.v, true, args.v_mapping, args.rows, args.cols);
    const int threads = cpu_resolve_threads(num_threads);
    const std::int64_t group_len = tile_group_len(m, v);
    if (group_len > 0) {
        step_tiles(args, m, v, group_len, threads);
    } else {
        step_two_pass(args, m, v, threads);
    }
    return Status::kOk;
}

}  // namespace lowbit::kernels
