// Multi-threaded CPU packed linear (docs/efficientqat.md §Packed linear on the CPU). Threads
// split the output columns into tiles of kTile; within a tile every packed word is read from
// memory once per batch tile of up to kBatchTile rows, its codes are decoded for kTile columns at
// a time (contiguous in the [word row, out] layout, so the decode and the multiply-add vectorise),
// and each group's Σ x·q is rescaled once: Σ_g s·(Σ x·q − z·Σ x). Built with -O3 and an AVX2+FMA
// clone chosen at load time (target_clones), so a batch-1 call streams bits/8 bytes per weight
// instead of a dense layer's 4.
#include "lowbit/kernels/packed_linear.h"

#include <algorithm>
#include <array>
#include <vector>

#include "common/packed_weight_math.h"
#include "cpu/parallel_for.h"

namespace lowbit::kernels {

namespace {

constexpr std::int64_t kTile = 64;       // output columns per tile
constexpr std::int64_t kBatchTile = 16;  // batch rows sharing one decode of the words

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LOWBIT_SIMD_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define LOWBIT_SIMD_CLONES
#endif

/// group_sum[b][o] += Σ_{i in group g} x[b0 + b, i]·q[i, o0 + o] for a group made of whole
/// words (group_size a multiple of the 32/Bits codes per word): each word of the tile is loaded
/// once and its codes are taken out with constant shifts. Inlined into each clone of full_tile.
template <int Bits>
__attribute__((always_inline)) inline void accumulate_whole_words(const float* x,
                                                                  std::int64_t b0,
                                                                  std::int64_t rows,
                                                                  const PackedWeightView& w,
                                                                  std::int64_t o0,
                                                                  std::int64_t g,
                                                                  float (*group_sum)[kTile]) {
    constexpr int kPerWord = 32 / Bits;
    constexpr std::uint32_t kMask = (1U << Bits) - 1U;
    alignas(64) float codes[kPerWord][kTile];
    const std::int64_t first_row = g * w.group_size / kPerWord;
    const std::int64_t last_row = (g + 1) * w.group_size / kPerWord;
    for (std::int64_t r = first_row; r < last_row; ++r) {
        const std::uint32_t* word_row = w.qweight + r * w.out + o0;
        if (rows == 1) {
            // Batch 1 (generation): decode and multiply-add in one pass over the words.
            float xv[kPerWord];
            for (int j = 0; j < kPerWord; ++j) {
                xv[j] = x[b0 * w.in + r * kPerWord + j];
            }
            for (std::int64_t o = 0; o < kTile; ++o) {
                const std::uint32_t word = word_row[o];
                float sum = group_sum[0][o];
                for (int j = 0; j < kPerWord; ++j) {
                    sum += xv[j] * static_cast<float>((word >> (Bits * j)) & kMask);
                }
                group_sum[0][o] = sum;
            }
            continue;
        }
        for (std::int64_t o = 0; o < kTile; ++o) {
            const std::uint32_t word = word_row[o];
            for (int j = 0; j < kPerWord; ++j) {
                codes[j][o] = static_cast<float>((word >> (Bits * j)) & kMask);
            }
        }
        for (std::int64_t b = 0; b < rows; ++b) {
            const float* xb = x + (b0 + b) * w.in + r * kPerWord;
            for (int j = 0; j < kPerWord; ++j) {
                const float xv = xb[j];
                for (std::int64_t o = 0; o < kTile; ++o) {
                    group_sum[b][o] += xv * codes[j][o];
                }
            }
        }
    }
}

/// The same for any group: input by input (3-bit words of 10 codes straddle groups of 32, 64 or
/// 128).
__attribute__((always_inline)) inline void accumulate_by_input(const float* x,
                                                               std::int64_t b0,
                                                               std::int64_t rows,
                                                               const PackedWeightView& w,
                                                               std::int64_t o0,
                                                               std::int64_t g,
                                                               float (*group_sum)[kTile]) {
    const int per_word = 32 / w.bits;
    const std::uint32_t mask = (1U << w.bits) - 1U;
    alignas(64) float codes[kTile];
    for (std::int64_t i = g * w.group_size; i < (g + 1) * w.group_size; ++i) {
        const std::uint32_t* word_row = w.qweight + (i / per_word) * w.out + o0;
        const auto shift = static_cast<std::uint32_t>(w.bits * (i % per_word));
        for (std::int64_t o = 0; o < kTile; ++o) {
            codes[o] = static_cast<float>((word_row[o] >> shift) & mask);
        }
        for (std::int64_t b = 0; b < rows; ++b) {
            const float xv = x[(b0 + b) * w.in + i];
            for (std::int64_t o = 0; o < kTile; ++o) {
                group_sum[b][o] += xv * codes[o];
            }
        }
    }
}

/// One full tile: columns [o0, o0 + kTile), batch rows [b0, b0 + rows). x_sums[b, g] = Σ x over
/// group g of row b.
LOWBIT_SIMD_CLONES void full_tile(const float* x,
                                  const float* x_sums,
                                  std::int64_t b0,
                                  std::int64_t rows,
                                  const PackedWeightView& w,
                                  std::int64_t o0,
                                  const float* bias,
                                  float* y) {
    const std::int64_t groups = w.in / w.group_size;
    const bool whole_words = w.group_size % (32 / w.bits) == 0;
    alignas(64) float acc[kBatchTile][kTile] = {};
    alignas(64) float group_sum[kBatchTile][kTile];
    alignas(64) float zeros[kTile];
    for (std::int64_t g = 0; g < groups; ++g) {
        for (std::int64_t b = 0; b < rows; ++b) {
            std::fill(std::begin(group_sum[b]), std::end(group_sum[b]), 0.0F);
        }
        if (whole_words && w.bits == 2) {
            accumulate_whole_words<2>(x, b0, rows, w, o0, g, group_sum);
        } else if (whole_words && w.bits == 4) {
            accumulate_whole_words<4>(x, b0, rows, w, o0, g, group_sum);
        } else if (whole_words && w.bits == 8) {
            accumulate_whole_words<8>(x, b0, rows, w, o0, g, group_sum);
        } else {
            accumulate_by_input(x, b0, rows, w, o0, g, group_sum);
        }
        const float* scale_row = w.scales + g * w.out + o0;
        for (std::int64_t o = 0; o < kTile; ++o) {
            zeros[o] = static_cast<float>(packed_zero(w.qzeros, w.out, w.bits, g, o0 + o));
        }
        for (std::int64_t b = 0; b < rows; ++b) {
            const float xs = x_sums[(b0 + b) * groups + g];
            for (std::int64_t o = 0; o < kTile; ++o) {
                acc[b][o] += scale_row[o] * (group_sum[b][o] - zeros[o] * xs);
            }
        }
    }
    for (std::int64_t b = 0; b < rows; ++b) {
        for (std::int64_t o = 0; o < kTile; ++o) {
            y[(b0 + b) * w.out + o0 + o] = acc[b][o] + (bias != nullptr ? bias[o0 + o] : 0.0F);
        }
    }
}

/// The last, narrower tile [o0, out): the reference's arithmetic, column by column.
void tail_columns(const float* x,
                  std::int64_t batch,
                  const PackedWeightView& w,
                  std::int64_t o0,
                  const float* bias,
                  float* y) {
    for (std::int64_t b = 0; b < batch; ++b) {
        for (std::int64_t o = o0; o < w.out; ++o) {
            y[b * w.out + o] =
                packed_column_dot(x + b * w.in, w, o) + (bias != nullptr ? bias[o] : 0.0F);
        }
    }
}

}  // namespace

Status packed_linear_cpu(const float* x,
                         std::int64_t batch,
                         const PackedWeightView& w,
                         const float* bias,
                         float* y,
                         int threads) {
    if (const Status s = check_packed_weight(w); s != Status::kOk) {
        return s;
    }
    if (x == nullptr || y == nullptr || batch <= 0) {
        return Status::kBadArgument;
    }
    const std::int64_t groups = w.in / w.group_size;
    std::vector<float> x_sums(static_cast<std::size_t>(batch * groups));
    for (std::int64_t b = 0; b < batch; ++b) {
        for (std::int64_t g = 0; g < groups; ++g) {
            float sum = 0.0F;
            for (std::int64_t i = g * w.group_size; i < (g + 1) * w.group_size; ++i) {
                sum += x[b * w.in + i];
            }
            x_sums[static_cast<std::size_t>(b * groups + g)] = sum;
        }
    }
    const std::int64_t full_tiles = w.out / kTile;
    // Below this many weights per thread the threads cost more than they save.
    constexpr std::int64_t kMinWeightsPerThread = 1 << 16;
    const std::int64_t useful_threads = std::max<std::int64_t>(
        1,
        std::min<std::int64_t>(cpu_resolve_threads(threads), w.in * w.out / kMinWeightsPerThread));
    parallel_for_blocks(full_tiles,
                        static_cast<int>(useful_threads),
                        [&](std::int64_t begin, std::int64_t end, int /*thread*/) {
                            for (std::int64_t t = begin; t < end; ++t) {
                                for (std::int64_t b0 = 0; b0 < batch; b0 += kBatchTile) {
                                    full_tile(x,
                                              x_sums.data(),
                                              b0,
                                              std::min(kBatchTile, batch - b0),
                                              w,
                                              t * kTile,
                                              bias,
                                              y);
                                }
                            }
                        });
    if (full_tiles * kTile < w.out) {
        tail_columns(x, batch, w, full_tiles * kTile, bias, y);
    }
    return Status::kOk;
}

}  // namespace lowbit::kernels
