// Bit packing of integer codes into 32-bit words and back (docs/efficientqat.md §Packed layout),
// plus the argument check every packed-linear path shares.
#include "lowbit/kernels/packed_linear.h"
#include "lowbit/kernels/quant_format.h"

namespace lowbit::kernels {

namespace {

bool valid_pack_args(
    const void* in, std::int64_t rows, std::int64_t cols, int bits, const void* out) {
    return in != nullptr && out != nullptr && rows > 0 && cols > 0 && is_packable_bits(bits);
}

}  // namespace

Status check_packed_weight(const PackedWeightView& w) {
    if (!is_packable_bits(w.bits) || w.qweight == nullptr || w.qzeros == nullptr ||
        w.scales == nullptr) {
        return Status::kBadArgument;
    }
    if (w.in <= 0 || w.out <= 0 || w.group_size <= 0 || w.in % w.group_size != 0) {
        return Status::kBadShape;
    }
    return Status::kOk;
}

namespace {

/// Packs n codes read every `code_stride` elements into ceil(n / per_word) words written every
/// `word_stride` elements, least-significant first. False when a code does not fit `bits`.
bool pack_line(const std::uint8_t* codes,
               std::int64_t n,
               std::int64_t code_stride,
               int bits,
               std::uint32_t* words,
               std::int64_t word_stride) {
    const int per_word = packed_codes_per_word(bits);
    const std::uint32_t mask = (1U << bits) - 1U;
    for (std::int64_t first = 0, word = 0; first < n; first += per_word, ++word) {
        std::uint32_t packed = 0;
        for (int j = 0; j < per_word && first + j < n; ++j) {
            const std::uint32_t code = codes[(first + j) * code_stride];
            if ((code & ~mask) != 0U) {
                return false;
            }
            packed |= code << (bits * j);
        }
        words[word * word_stride] = packed;
    }
    return true;
}

/// The inverse of pack_line.
void unpack_line(const std::uint32_t* words,
                 std::int64_t n,
                 std::int64_t code_stride,
                 int bits,
                 std::uint8_t* codes,
                 std::int64_t word_stride) {
    const int per_word = packed_codes_per_word(bits);
    const std::uint32_t mask = (1U << bits) - 1U;
    for (std::int64_t k = 0; k < n; ++k) {
        const std::uint32_t word = words[(k / per_word) * word_stride];
        codes[k * code_stride] =
            static_cast<std::uint8_t>((word >> (bits * static_cast<int>(k % per_word))) & mask);
    }
}

std::int64_t word_count(std::int64_t n, int bits) {
    const int per_word = packed_codes_per_word(bits);
    return (n + per_word - 1) / per_word;
}

}  // namespace

// Along the rows: one line per column c, codes every `cols` elements, words every `cols`.
Status pack_codes_along_rows(const std::uint8_t* codes,
                             std::int64_t rows,
                             std::int64_t cols,
                             int bits,
                             std::uint32_t* words) {
    if (!valid_pack_args(codes, rows, cols, bits, words)) {
        return Status::kBadArgument;
    }
    for (std::int64_t c = 0; c < cols; ++c) {
        if (!pack_line(codes + c, rows, cols, bits, words + c, cols)) {
            return Status::kBadArgument;
        }
    }
    return Status::kOk;
}

// Along the columns: one line per row r, contiguous codes, contiguous words.
Status pack_codes_along_cols(const std::uint8_t* codes,
                             std::int64_t rows,
                             std::int64_t cols,
                             int bits,
                             std::uint32_t* words) {
    if (!valid_pack_args(codes, rows, cols, bits, words)) {
        return Status::kBadArgument;
    }
    const std::int64_t word_cols = word_count(cols, bits);
    for (std::int64_t r = 0; r < rows; ++r) {
        if (!pack_line(codes + r * cols, cols, 1, bits, words + r * word_cols, 1)) {
            return Status::kBadArgument;
        }
    }
    return Status::kOk;
}

Status unpack_codes_along_rows(const std::uint32_t* words,
                               std::int64_t rows,
                               std::int64_t cols,
                               int bits,
                               std::uint8_t* codes) {
    if (!valid_pack_args(words, rows, cols, bits, codes)) {
        return Status::kBadArgument;
    }
    for (std::int64_t c = 0; c < cols; ++c) {
        unpack_line(words + c, rows, cols, bits, codes + c, cols);
    }
    return Status::kOk;
}

Status unpack_codes_along_cols(const std::uint32_t* words,
                               std::int64_t rows,
                               std::int64_t cols,
                               int bits,
                               std::uint8_t* codes) {
    if (!valid_pack_args(words, rows, cols, bits, codes)) {
        return Status::kBadArgument;
    }
    const std::int64_t word_cols = word_count(cols, bits);
    for (std::int64_t r = 0; r < rows; ++r) {
        unpack_line(words + r * word_cols, cols, 1, bits, codes + r * cols, 1);
    }
    return Status::kOk;
}

}  // namespace lowbit::kernels
