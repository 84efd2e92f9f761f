// Internal: the stable lowercase names of every recipe enum, indexed by the enumerator's value.
// to_string() and the schema's enum choices both read these tables; the choices are listed in
// value order.
#pragma once

#include "lowbit/config/recipe.h"

#include <array>
#include <optional>
#include <string_view>

namespace lowbit::config::detail {

template <typename E>
struct EnumNames;

template <>
struct EnumNames<ModelFamily> {
    static constexpr std::array<const char*, 2> kNames = {"gpt2", "llama"};
};

template <>
struct EnumNames<DataFormat> {
    static constexpr std::array<const char*, 4> kNames = {"auto", "text", "jsonl", "tokens"};
};

template <>
struct EnumNames<TokenizerKind> {
    static constexpr std::array<const char*, 2> kNames = {"byte", "sentencepiece"};
};

template <>
struct EnumNames<SentencePieceType> {
    static constexpr std::array<const char*, 2> kNames = {"bpe", "unigram"};
};

template <>
struct EnumNames<Schedule> {
    static constexpr std::array<const char*, 3> kNames = {"cosine", "linear", "constant"};
};

template <>
struct EnumNames<Precision> {
    static constexpr std::array<const char*, 2> kNames = {"fp32", "bf16"};
};

template <>
struct EnumNames<QatMethod> {
    static constexpr std::array<const char*, 3> kNames = {"efficientqat", "rtn", "gptq"};
};

template <>
struct EnumNames<DeviceChoice> {
    static constexpr std::array<const char*, 3> kNames = {"auto", "cpu", "cuda"};
};

// The quantizer enums read the kernels' format table (quant_format.h), so a recipe, the store and
// the kernels spell every granularity, grid, rounding and mapping alike.
template <>
struct EnumNames<Granularity> {
    static constexpr const auto& kNames = kernels::kGranularityNames;
};

template <>
struct EnumNames<Rounding> {
    static constexpr const auto& kNames = kernels::kRoundingNames;
};

template <>
struct EnumNames<QuantGrid> {
    static constexpr const auto& kNames = kernels::kQuantGridNames;
};

template <>
struct EnumNames<BackwardMode> {
    static constexpr std::array<const char*, 4> kNames = {"paper", "switchback", "both", "ste"};
};

template <>
struct EnumNames<QuantArithmetic> {
    static constexpr std::array<const char*, 2> kNames = {"fp32", "input"};
};

template <>
struct EnumNames<ForwardGemm> {
    static constexpr std::array<const char*, 2> kNames = {"fake_quant", "int8"};
};

template <>
struct EnumNames<GradientAllreduce> {
    static constexpr std::array<const char*, 3> kNames = {"fp32", "bf16", "int8"};
};

template <>
struct EnumNames<SecondMomentMapping> {
    static constexpr const auto& kNames = kernels::kSecondMomentMappingNames;
};

template <typename E>
const char* enum_name(E value) {
    const auto index = static_cast<std::size_t>(value);
    return index < EnumNames<E>::kNames.size() ? EnumNames<E>::kNames[index] : "?";
}

template <typename E>
std::optional<E> enum_from_name(std::string_view name) {
    for (std::size_t i = 0; i < EnumNames<E>::kNames.size(); ++i) {
        if (name == EnumNames<E>::kNames[i]) {
            return static_cast<E>(i);
        }
    }
    return std::nullopt;
}

}  // namespace lowbit::config::detail
