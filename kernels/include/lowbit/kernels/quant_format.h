// The vocabulary of a quantizer format, said once for the kernels, the engine, the recipe schema
// and the GUI (docs/quantized-pretraining.md §Format table): granularities with how the kernels
// lay their groups and which tensor types may use them, the integer grids with their code
// ranges, rounding, the second-moment mapping, and the byte cost of a stored state. One table per
// enum, indexed by the enum's value, so a name, a layout or a rule is looked up instead of being
// switched over again in every layer. Header-only, constexpr and standard library only: the
// torch-free lowbit_config and the GUI include it through the INTERFACE target
// lowbit_quant_format without linking lowbit_kernels. Host code only (nvcc compiles it for the
// host side of the launchers; the device code gets the numbers through kernel arguments).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lowbit::kernels {

/// Which elements share one scale (docs/quantized-pretraining.md §Granularities). The values are
/// persisted: a stored optimizer state's `.format` tensor holds 0, 1 or 2 (the numbering of the
/// former per-tensor / per-row / per-block state granularity), so never renumber and keep holes.
enum class Granularity : std::uint8_t {
    kPerTensor = 0,
    kPerChannel = 1,
    kPerBlock = 2,
    kPerToken = 3,
    kPerGroup = 4,
    kPerPosition = 5,
};

/// How the kernels lay one granularity's groups on a row-major (rows, cols) buffer.
enum class ScaleGroups : std::uint8_t {
    kWhole,       ///< one group: the whole buffer
    kRows,        ///< one group per row (W's output channel, or a token of the (B·T, C) A or G)
    kRowGroups,   ///< group_size contiguous elements along the last axis; cols % group_size == 0
    kFlatBlocks,  ///< blocks of group_size of the flattened buffer; may straddle rows, last shorter
};

/// Which 2-D (rows, cols) view of the tensor the kernels get. Most granularities group along the
/// last axis of the tensor flattened to (numel / C, C); per_position's rows are the sequence
/// positions, so the torch adapter moves T first: a (B, T, C) tensor becomes (T, B·C) and each
/// row (one position, every sequence of the batch, every channel) gets one scale
/// (docs/quantized-pretraining.md §Per-position scales).
enum class KernelView : std::uint8_t {
    kLastAxis,        ///< (numel / C, C), the tensor's own row-major order
    kPositionsFirst,  ///< (T, B·C) of a (B, T, C) tensor: T moved to the front
};

struct GranularityTraits {
    Granularity value;
    const char* name;  ///< as written in recipes and the store
    ScaleGroups groups;
    KernelView view;
    bool for_weights;      ///< quant.weight
    bool for_activations;  ///< quant.activation and quant.grad_output
    bool for_states;       ///< quant.optim_m and quant.optim_v
    const char* description;
};

/// Indexed by the enum value. The allowed uses are the recipe's rules: a row means an output
/// channel only for W-shaped tensors and a token only for (B·T, C) ones, so each name says what
/// its row is; flat blocks exist only where the tensor is stored as codes (optimizer states).
inline constexpr GranularityTraits kGranularityTraits[] = {
    {Granularity::kPerTensor,
     "per_tensor",
     ScaleGroups::kWhole,
     KernelView::kLastAxis,
     true,
     true,
     true,
     "one scale for the whole tensor"},
    {Granularity::kPerChannel,
     "per_channel",
     ScaleGroups::kRows,
     KernelView::kLastAxis,
     true,
     false,
     true,
     "one scale per row of the (out, in) matrix: per output channel of W, per row of its "
     "optimizer states"},
    {Granularity::kPerBlock,
     "per_block",
     ScaleGroups::kFlatBlocks,
     KernelView::kLastAxis,
     false,
     false,
     true,
     "optimizer states only: blocks of group_size consecutive elements of the flattened state "
     "(bitsandbytes' layout), which may straddle rows (the last one may be shorter), so "
     "group_size need not divide the layer width"},
    {Granularity::kPerToken,
     "per_token",
     ScaleGroups::kRows,
     KernelView::kLastAxis,
     false,
     true,
     false,
     "one scale per row of the flattened (B*T, C) activation or output gradient: per token"},
    {Granularity::kPerGroup,
     "per_group",
     ScaleGroups::kRowGroups,
     KernelView::kLastAxis,
     true,
     true,
     true,
     "group_size consecutive elements along the last axis; group_size must divide the width. "
     "Optimizer states store it as per_block blocks of group_size, the same groups because "
     "group_size divides the row"},
    {Granularity::kPerPosition,
     "per_position",
     ScaleGroups::kRows,
     KernelView::kPositionsFirst,
     false,
     true,
     false,
     "one scale per sequence position t of the (B, T, C) activation or output gradient, shared "
     "by the batch and the channels (the reference code's legacy per-token activation "
     "quantizer)"},
};

inline constexpr std::size_t kGranularityCount = std::size(kGranularityTraits);

constexpr bool granularity_table_is_indexed_by_value() {
    for (std::size_t i = 0; i < kGranularityCount; ++i) {
        if (static_cast<std::size_t>(kGranularityTraits[i].value) != i) {
            return false;
        }
    }
    return true;
}

static_assert(granularity_table_is_indexed_by_value(), "kGranularityTraits[i].value must be i");
static_assert(static_cast<int>(Granularity::kPerTensor) == 0 &&
                  static_cast<int>(Granularity::kPerChannel) == 1 &&
                  static_cast<int>(Granularity::kPerBlock) == 2,
              "persisted in checkpoints: never renumber");

/// @brief Whether g is one of the enumerators (a value read from a file may not be).
constexpr bool is_valid(Granularity g) {
    return static_cast<std::size_t>(g) < kGranularityCount;
}

/// @brief The table row of g. Precondition: is_valid(g).
constexpr const GranularityTraits& granularity_traits(Granularity g) {
    return kGranularityTraits[static_cast<std::size_t>(g)];
}

constexpr std::optional<Granularity> granularity_from_name(std::string_view name) {
    for (const GranularityTraits& t : kGranularityTraits) {
        if (name == t.name) {
            return t.value;
        }
    }
    return std::nullopt;
}

/// The names in value order (what the recipe schema offers as choices).
inline constexpr std::array<const char*, kGranularityCount> kGranularityNames = [] {
    std::array<const char*, kGranularityCount> names{};
    for (std::size_t i = 0; i < kGranularityCount; ++i) {
        names[i] = kGranularityTraits[i].name;
    }
    return names;
}();

/// @brief The granularity an optimizer state quantized with granularity g is stored (and
/// persisted) as (docs/quantized-pretraining.md §Stored moments): the stored codes are indexed
/// by the flat element index, so groups along rows become flat blocks of group_size, which are
/// the same groups whenever group_size divides the row length. Rows stay per_channel.
constexpr Granularity stored_state_granularity(Granularity g) {
    switch (granularity_traits(g).groups) {
        case ScaleGroups::kWhole:
            return Granularity::kPerTensor;
        case ScaleGroups::kRows:
            return Granularity::kPerChannel;
        case ScaleGroups::kRowGroups:
        case ScaleGroups::kFlatBlocks:
            break;
    }
    return Granularity::kPerBlock;
}

/// The integer grids (docs/quantized-pretraining.md §Integer grids). Persisted in a stored
/// state's `.format`: never renumber.
enum class QuantGrid : std::uint8_t {
    /// The reference code's signed grid Qn = -2^(b-1), Qp = 2^(b-1) - 1. Asymmetric step
    /// (max-min)/(2*Qp), z = round(min/s - Qn), q = round(clamp(x/s - z, Qn, Qp)), x^ = (q + z)*s.
    kReference = 0,
    /// 2^b levels. Asymmetric: step (max-min)/(2^b - 1), zero point zp = round(-min/s), unsigned
    /// codes q = round(clamp(x/s + zp, 0, 2^b - 1)), x^ = (q - zp)*s. Symmetric: as kReference.
    kFull = 1,
};

/// docs/quantized-pretraining.md §Rounding.
enum class Rounding : std::uint8_t {
    kNearest = 0,     ///< round half to even (std::nearbyint in the default mode; rintf on CUDA)
    kStochastic = 1,  ///< min(floor(v + u), Qp), u = counter_hash_uniform(seed, flat index)
};

/// How the second moment v (>= 0) is mapped before the linear quantizer
/// (docs/quantized-pretraining.md §Second-moment mapping). Persisted: never renumber.
enum class SecondMomentMapping : std::uint8_t {
    /// The reference code: quantize v itself. With absmax scales every v below s/2 becomes 0 and
    /// the update m / (sqrt(0) + eps) explodes (the zero-point problem).
    kLinear = 0,
    /// Quantize u = sqrt(v) and store v^ = u^2. The update needs sqrt(v) anyway, and the
    /// smallest non-zero level relative to the group maximum drops from 1/(2 Qp) in v to
    /// 1/(2 Qp)^2, so far fewer v collapse to zero.
    kSqrt = 1,
};

/// Names indexed by the enum value, as written in recipes.
inline constexpr std::array<const char*, 2> kQuantGridNames = {"reference", "full"};
inline constexpr std::array<const char*, 2> kRoundingNames = {"nearest", "stochastic"};
inline constexpr std::array<const char*, 2> kSecondMomentMappingNames = {"linear", "sqrt"};

namespace detail {

template <typename E, std::size_t N>
constexpr std::optional<E> from_name(const std::array<const char*, N>& names,
                                     std::string_view name) {
    for (std::size_t i = 0; i < N; ++i) {
        if (name == names[i]) {
            return static_cast<E>(i);
        }
    }
    return std::nullopt;
}

template <typename E, std::size_t N>
constexpr const char* to_name(const std::array<const char*, N>& names, E value) {
    const auto index = static_cast<std::size_t>(value);
    return index < N ? names[index] : "?";
}

}  // namespace detail

/// @brief The recipe name of a value, or "?" for a value that is no enumerator.
constexpr const char* quant_grid_name(QuantGrid v) {
    return detail::to_name(kQuantGridNames, v);
}

constexpr const char* rounding_name(Rounding v) {
    return detail::to_name(kRoundingNames, v);
}

constexpr const char* second_moment_mapping_name(SecondMomentMapping v) {
    return detail::to_name(kSecondMomentMappingNames, v);
}

constexpr std::optional<QuantGrid> quant_grid_from_name(std::string_view name) {
    return detail::from_name<QuantGrid>(kQuantGridNames, name);
}

constexpr std::optional<Rounding> rounding_from_name(std::string_view name) {
    return detail::from_name<Rounding>(kRoundingNames, name);
}

constexpr std::optional<SecondMomentMapping> second_moment_mapping_from_name(
    std::string_view name) {
    return detail::from_name<SecondMomentMapping>(kSecondMomentMappingNames, name);
}

constexpr bool is_valid(QuantGrid v) {
    return static_cast<std::size_t>(v) < kQuantGridNames.size();
}

constexpr bool is_valid(Rounding v) {
    return static_cast<std::size_t>(v) < kRoundingNames.size();
}

constexpr bool is_valid(SecondMomentMapping v) {
    return static_cast<std::size_t>(v) < kSecondMomentMappingNames.size();
}

/// The integer codes [qn, qp] a quantizer produces (docs/quantized-pretraining.md §Integer
/// grids): the reference grid [-2^(b-1), 2^(b-1) - 1], or [0, 2^b - 1] when unsigned (the
/// reference code's `signed: false`, formerly `all_positive`: negative values clamp to code 0
/// when symmetric, and the asymmetric formulas run unchanged with Qn = 0); the full grid
/// [0, 2^b - 1] when asymmetric and the signed reference range when symmetric.
struct CodeRange {
    int qn;
    int qp;

    constexpr bool operator==(const CodeRange&) const = default;
};

/// @brief Whether a grid takes the unsigned choice: only the reference grid does. The full grid
/// already fixes its codes (unsigned with a zero point when asymmetric, the signed reference
/// range when symmetric), so `signed: false` would either repeat it or contradict it.
constexpr bool grid_allows_unsigned(QuantGrid grid) {
    return grid == QuantGrid::kReference;
}

/// @brief Precondition: bits in 2..8 (any bits in 1..30 gives the formula's range). `is_signed`
/// false is for the reference grid (grid_allows_unsigned); stored optimizer states are always
/// signed, hence the default.
constexpr CodeRange code_range(QuantGrid grid, int bits, bool symmetric, bool is_signed = true) {
    if (!is_signed || (grid == QuantGrid::kFull && !symmetric)) {
        return {0, (1 << bits) - 1};
    }
    return {-(1 << (bits - 1)), (1 << (bits - 1)) - 1};
}

/// @brief The step divisor d of s = range / d (docs/quantized-pretraining.md §Symmetric and
/// asymmetric scales): Qp when symmetric (s = absmax/Qp) and on the asymmetric full grid
/// (s = (max-min)/(2^b - 1)); 2·Qp on the asymmetric reference grid, signed or not.
constexpr int step_divisor(QuantGrid grid, int bits, bool symmetric, bool is_signed = true) {
    const int qp = code_range(grid, bits, symmetric, is_signed).qp;
    return !symmetric && grid == QuantGrid::kReference ? 2 * qp : qp;
}

static_assert(step_divisor(QuantGrid::kReference, 8, false) == 254);
static_assert(step_divisor(QuantGrid::kReference, 8, false, false) == 510);
static_assert(step_divisor(QuantGrid::kFull, 8, false) == 255);
static_assert(step_divisor(QuantGrid::kReference, 4, true, false) == 15);

static_assert(code_range(QuantGrid::kReference, 8, true) == CodeRange{-128, 127});
static_assert(code_range(QuantGrid::kReference, 8, false) == CodeRange{-128, 127});
static_assert(code_range(QuantGrid::kReference, 4, false) == CodeRange{-8, 7});
static_assert(code_range(QuantGrid::kReference, 8, true, false) == CodeRange{0, 255});
static_assert(code_range(QuantGrid::kReference, 4, false, false) == CodeRange{0, 15});
static_assert(code_range(QuantGrid::kFull, 8, true) == CodeRange{-128, 127});
static_assert(code_range(QuantGrid::kFull, 8, false) == CodeRange{0, 255});
static_assert(code_range(QuantGrid::kFull, 2, false) == CodeRange{0, 3});

/// Byte cost of a stored state (docs/quantized-pretraining.md §Stored moments): a code byte holds
/// q - Qn in [0, 2^b - 1], so 2..4-bit codes fit a nibble and are packed two per byte.
/// @brief Bits one stored code occupies: 4 for 2..4 bits, 8 for 5..8 bits.
constexpr int stored_code_bits(int bits) {
    return bits <= 4 ? 4 : 8;
}

/// @brief Bytes of the codes of n values (an odd packed count leaves the last high nibble 0).
constexpr std::int64_t stored_code_bytes(std::int64_t n, int bits) {
    return stored_code_bits(bits) == 4 ? (n + 1) / 2 : n;
}

/// @brief Groups of group_len (>= 1) consecutive values covering n values; the last may be
/// shorter. 0 for an empty state, which stores no scale.
constexpr std::int64_t stored_group_count(std::int64_t n, std::int64_t group_len) {
    return n == 0 ? 0 : (n + group_len - 1) / group_len;
}

/// @brief Bytes of a stored state of n values in groups of group_len: the codes, one float32
/// scale per group and, when asymmetric, one float32 zero point per group.
constexpr std::int64_t stored_state_bytes(std::int64_t n,
                                          std::int64_t group_len,
                                          int bits,
                                          bool symmetric) {
    const std::int64_t per_group = (symmetric ? 1 : 2) * static_cast<std::int64_t>(sizeof(float));
    return stored_code_bytes(n, bits) + stored_group_count(n, group_len) * per_group;
}

static_assert(stored_code_bits(2) == 4 && stored_code_bits(4) == 4 && stored_code_bits(5) == 8 &&
              stored_code_bits(8) == 8);
// 8-bit symmetric, blocks of 256 over 4096 values: 4096 code bytes + 16 scales.
static_assert(stored_state_bytes(4096, 256, 8, true) == 4096 + 16 * 4);
// 4-bit asymmetric, same blocks: two codes per byte, a scale and a zero point per block.
static_assert(stored_state_bytes(4096, 256, 4, false) == 2048 + 16 * 8);
// 300 values in blocks of 256: the second block holds 44; 3 bits pack into 150 bytes.
static_assert(stored_state_bytes(300, 256, 3, true) == 150 + 2 * 4);
// An odd packed count rounds up; one per-tensor scale.
static_assert(stored_state_bytes(5, 5, 4, true) == 3 + 4);
static_assert(stored_state_bytes(0, 256, 8, false) == 0);

/// Packed weight-only formats (docs/efficientqat.md §Packed layout): weights quantized per group
/// of group_size input features on the asymmetric full grid, codes [0, 2^bits − 1] packed
/// least-significant first into 32-bit words, a bits-wide zero point and an fp16 step per group.
/// @brief Whether a packed weight may have `bits` bits per code.
constexpr bool is_packable_bits(int bits) {
    return bits == 2 || bits == 3 || bits == 4 || bits == 8;
}

/// @brief Codes per 32-bit word: 16, 10, 8 or 4. Three-bit codes leave the top 2 bits of each
/// word unused (3.2 stored bits per weight), which keeps every code inside one word.
constexpr int packed_codes_per_word(int bits) {
    return 32 / bits;
}

/// @brief The storage cost per quantized weight, bits + (bits + 16) / group_size: the code, and
/// per group a bits-wide zero point and an fp16 step (the cost the method is compared by; the
/// 3-bit words' unused bits are not counted).
constexpr double packed_bits_per_parameter(int bits, std::int64_t group_size) {
    return bits + static_cast<double>(bits + 16) / static_cast<double>(group_size);
}

static_assert(packed_codes_per_word(2) == 16 && packed_codes_per_word(3) == 10 &&
              packed_codes_per_word(4) == 8 && packed_codes_per_word(8) == 4);
// The method's own figures: 2.28 bits for w2g64, 3.15 for w3g128, 4.16 for w4g128 (rounded).
static_assert(packed_bits_per_parameter(2, 64) > 2.28 && packed_bits_per_parameter(2, 64) < 2.29);
static_assert(packed_bits_per_parameter(4, 128) > 4.156 &&
              packed_bits_per_parameter(4, 128) < 4.157);

}  // namespace lowbit::kernels
