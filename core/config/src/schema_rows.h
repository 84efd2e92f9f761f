// Internal: building blocks of the schema table rows (range helpers and the generic `field` row
// maker that derives a key's type and accessors from a member reference). Used by the table files.
#pragma once

#include "lowbit/config/recipe_schema.h"

#include <limits>
#include <type_traits>

#include "enum_names.h"

namespace lowbit::config::detail {

struct Limits {
    std::optional<Bound> min;
    std::optional<Bound> max;
    bool non_empty = false;
    bool is_path = false;
};

inline Limits at_least(double lo) {
    return {Bound{lo, true}, std::nullopt};
}

inline Limits above(double lo) {
    return {Bound{lo, false}, std::nullopt};
}

inline Limits closed(double lo, double hi) {
    return {Bound{lo, true}, Bound{hi, true}};
}

inline Limits half_open(double lo, double hi) {
    return {Bound{lo, true}, Bound{hi, false}};
}

inline Limits open_closed(double lo, double hi) {
    return {Bound{lo, false}, Bound{hi, true}};
}

inline Limits non_empty() {
    Limits limits;
    limits.non_empty = true;
    return limits;
}

inline Limits path(bool required) {
    Limits limits;
    limits.non_empty = required;
    limits.is_path = true;
    return limits;
}

// One row. `ref` is a generic lambda `[](auto& r) -> auto& { return r.train.lr; }`, used both
// to read a const Recipe and to write a mutable one; the field type follows from its result.
template <typename Ref>
FieldSpec field(std::string path, Ref ref, std::string doc, Limits limits = {}) {
    using T = std::remove_cvref_t<decltype(ref(std::declval<Recipe&>()))>;
    FieldSpec f;
    f.path = std::move(path);
    f.doc = std::move(doc);
    f.min = limits.min;
    f.max = limits.max;
    f.non_empty = limits.non_empty;
    f.is_path = limits.is_path;
    if constexpr (std::is_same_v<T, bool>) {
        f.type = FieldType::kBool;
        f.get = [ref](const Recipe& r) { return FieldValue{ref(r)}; };
        f.set = [ref](Recipe& r, const FieldValue& v) { ref(r) = std::get<bool>(v); };
    } else if constexpr (std::is_same_v<T, int>) {
        f.type = FieldType::kInt;
        // The C++ type's own range, unless the row is narrower.
        if (!f.min) {
            f.min = Bound{double(std::numeric_limits<int>::min()), true};
        }
        if (!f.max) {
            f.max = Bound{double(std::numeric_limits<int>::max()), true};
        }
        f.get = [ref](const Recipe& r) { return FieldValue{int64_t{ref(r)}}; };
        f.set = [ref](Recipe& r, const FieldValue& v) {
            ref(r) = static_cast<int>(std::get<int64_t>(v));
        };
    } else if constexpr (std::is_same_v<T, int64_t>) {
        f.type = FieldType::kInt64;
        f.get = [ref](const Recipe& r) { return FieldValue{ref(r)}; };
        f.set = [ref](Recipe& r, const FieldValue& v) { ref(r) = std::get<int64_t>(v); };
    } else if constexpr (std::is_same_v<T, uint64_t>) {
        f.type = FieldType::kUInt64;
        f.get = [ref](const Recipe& r) { return FieldValue{ref(r)}; };
        f.set = [ref](Recipe& r, const FieldValue& v) { ref(r) = std::get<uint64_t>(v); };
    } else if constexpr (std::is_same_v<T, double>) {
        f.type = FieldType::kDouble;
        f.get = [ref](const Recipe& r) { return FieldValue{ref(r)}; };
        f.set = [ref](Recipe& r, const FieldValue& v) { ref(r) = std::get<double>(v); };
    } else if constexpr (std::is_same_v<T, std::string>) {
        f.type = FieldType::kString;
        f.get = [ref](const Recipe& r) { return FieldValue{ref(r)}; };
        f.set = [ref](Recipe& r, const FieldValue& v) { ref(r) = std::get<std::string>(v); };
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        f.type = FieldType::kStringList;
        f.get = [ref](const Recipe& r) { return FieldValue{ref(r)}; };
        f.set = [ref](Recipe& r, const FieldValue& v) {
            ref(r) = std::get<std::vector<std::string>>(v);
        };
    } else if constexpr (std::is_same_v<T, std::array<double, 2>>) {
        f.type = FieldType::kDoubleList;
        f.list_size = 2;
        f.get = [ref](const Recipe& r) {
            const auto& a = ref(r);
            return FieldValue{std::vector<double>(a.begin(), a.end())};
        };
        f.set = [ref](Recipe& r, const FieldValue& v) {
            const auto& list = std::get<std::vector<double>>(v);
            ref(r) = {list.at(0), list.at(1)};
        };
    } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
        f.type = FieldType::kInt64List;
        f.get = [ref](const Recipe& r) { return FieldValue{ref(r)}; };
        f.set = [ref](Recipe& r, const FieldValue& v) {
            ref(r) = std::get<std::vector<int64_t>>(v);
        };
    } else if constexpr (std::is_same_v<T, std::vector<QuantOverride>>) {
        f.type = FieldType::kQuantOverrides;
        f.get = [ref](const Recipe& r) { return FieldValue{ref(r)}; };
        f.set = [ref](Recipe& r, const FieldValue& v) {
            ref(r) = std::get<std::vector<QuantOverride>>(v);
        };
    } else {
        static_assert(std::is_enum_v<T>, "unsupported recipe field type");
        f.type = FieldType::kEnum;
        for (const char* name : detail::EnumNames<T>::kNames) {
            f.choices.emplace_back(name);
        }
        f.get = [ref](const Recipe& r) {
            return FieldValue{std::string(detail::enum_name(ref(r)))};
        };
        f.set = [ref](Recipe& r, const FieldValue& v) {
            ref(r) = detail::enum_from_name<T>(std::get<std::string>(v)).value();
        };
    }
    return f;
}

#define LOWBIT_REF(member) \
    [](auto& r) -> auto& { \
        return r.member;   \
    }

// Appends the quant: rows (schema_quant.cpp).
void add_quant_fields(std::vector<FieldSpec>& fields);

// Appends the quant: cross-key problems (schema_quant.cpp).
void check_quant(const Recipe& recipe, std::vector<RecipeProblem>& problems);

// Appends the telemetry: rows and its cross-key problems (schema_telemetry.cpp).
void add_telemetry_fields(std::vector<FieldSpec>& fields);
void check_telemetry(const Recipe& recipe, std::vector<RecipeProblem>& problems);

// Appends the qat: rows and its cross-key problems (schema_qat.cpp).
void add_qat_fields(std::vector<FieldSpec>& fields);
void check_qat(const Recipe& recipe, std::vector<RecipeProblem>& problems);

}  // namespace lowbit::config::detail
