// Strict scalar parsing for recipe values (see scalar_parse.h).
#include "scalar_parse.h"

#include <cctype>
#include <charconv>
#include <limits>
#include <string>

namespace lowbit::config::detail {
namespace {

// Drops '_' separators that sit between two digits; nullopt if any other '_' is present.
std::optional<std::string> strip_separators(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '_') {
            const bool between = i > 0 && i + 1 < text.size() &&
                                 std::isdigit(uint8_t(text[i - 1])) &&
                                 std::isdigit(uint8_t(text[i + 1]));
            if (!between) {
                return std::nullopt;
            }
            continue;
        }
        out += text[i];
    }
    return out;
}

template <typename T>
IntParse parse_integer(std::string_view text, T& out) {
    auto digits = strip_separators(text);
    if (!digits || digits->empty()) {
        return IntParse::kNotAnInteger;
    }
    std::string_view view = *digits;
    if (view.front() == '+') {
        view.remove_prefix(1);
    }
    if (view.empty() || !(std::isdigit(uint8_t(view.front())) || view.front() == '-')) {
        return IntParse::kNotAnInteger;
    }
    T value{};
    const auto result = std::from_chars(view.data(), view.data() + view.size(), value);
    if (result.ptr != view.data() + view.size()) {
        // "-5" for an unsigned type stops at once; report it as out of range, not as a word.
        const bool negative_digits =
            std::is_unsigned_v<T> && view.front() == '-' && view.size() > 1 &&
            view.find_first_not_of("0123456789", 1) == std::string_view::npos;
        return negative_digits ? IntParse::kOverflow : IntParse::kNotAnInteger;
    }
    if (result.ec == std::errc::result_out_of_range) {
        return IntParse::kOverflow;
    }
    if (result.ec != std::errc()) {
        return IntParse::kNotAnInteger;
    }
    out = value;
    return IntParse::kOk;
}

}  // namespace

IntParse parse_int64(std::string_view text, int64_t& out) {
    return parse_integer(text, out);
}

IntParse parse_uint64(std::string_view text, uint64_t& out) {
    return parse_integer(text, out);
}

std::optional<double> parse_double(std::string_view text) {
    if (text == ".inf" || text == ".Inf" || text == "+.inf") {
        return std::numeric_limits<double>::infinity();
    }
    if (text == "-.inf" || text == "-.Inf") {
        return -std::numeric_limits<double>::infinity();
    }
    if (text == ".nan" || text == ".NaN") {
        return std::numeric_limits<double>::quiet_NaN();
    }
    auto stripped = strip_separators(text);
    if (!stripped || stripped->empty()) {
        return std::nullopt;
    }
    std::string_view view = *stripped;
    if (view.front() == '+') {
        view.remove_prefix(1);
    }
    // from_chars would also take "inf", "nan" and hex digits after "0x"; YAML does not.
    if (view.empty() || view.find_first_not_of("0123456789.eE+-") != std::string_view::npos) {
        return std::nullopt;
    }
    double value = 0.0;
    const auto result = std::from_chars(view.data(), view.data() + view.size(), value);
    if (result.ec != std::errc() || result.ptr != view.data() + view.size()) {
        return std::nullopt;
    }
    return value;
}

std::optional<bool> parse_bool(std::string_view text) {
    for (std::string_view yes : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"}) {
        if (text == yes) {
            return true;
        }
    }
    for (std::string_view no : {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"}) {
        if (text == no) {
            return false;
        }
    }
    return std::nullopt;
}

}  // namespace lowbit::config::detail
