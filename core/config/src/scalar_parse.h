// Internal: strict parsing of YAML plain scalars into numbers and booleans (decimal integers with
// optional sign and '_' digit separators, floating-point numbers, true/false/yes/no/on/off).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace lowbit::config::detail {

enum class IntParse { kOk, kNotAnInteger, kOverflow };

IntParse parse_int64(std::string_view text, int64_t& out);
IntParse parse_uint64(std::string_view text, uint64_t& out);
std::optional<double> parse_double(std::string_view text);
std::optional<bool> parse_bool(std::string_view text);

}  // namespace lowbit::config::detail
