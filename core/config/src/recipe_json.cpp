// Recipe <-> JSON through the schema table. Writing emits every field (enums as names); reading
// walks the object strictly (unknown keys and wrong JSON types are errors, missing keys keep their
// defaults) and applies the same range, enum and cross-key checks as the YAML reader.
#include "lowbit/config/recipe_json.h"

#include "lowbit/config/recipe_schema.h"
#include "lowbit/config/recipe_yaml.h"

#include <cstdint>
#include <type_traits>

#include "key_suggest.h"

namespace lowbit::config {
namespace {

using nlohmann::json;

constexpr const char* kJsonSource = "recipe JSON";

[[noreturn]] void fail(const std::string& path, const std::string& detail) {
    throw RecipeError(kJsonSource, 0, 0, path, detail);
}

json to_json_value(const FieldValue& value);

// quant.overrides: [{"layers": "blocks.0.*", "weight": {"bits": 8, ...}}, ...], every key of a
// given tensor entry written out.
json overrides_to_json(const std::vector<QuantOverride>& overrides) {
    json list = json::array();
    for (const QuantOverride& o : overrides) {
        json entry = {{"layers", o.layers}};
        for (const QuantTensorSpec& t : quant_tensors()) {
            if (const auto& spec = o.*t.override_member) {
                json values = json::object();
                for (const auto& [key, v] : quantizer_values(t, *spec)) {
                    values[key] = to_json_value(v);
                }
                entry[t.name] = values;
            }
        }
        list.push_back(entry);
    }
    return list;
}

json to_json_value(const FieldValue& value) {
    if (const auto* overrides = std::get_if<std::vector<QuantOverride>>(&value)) {
        return overrides_to_json(*overrides);
    }
    return std::visit(
        [](const auto& v) {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::vector<QuantOverride>>) {
                return json();  // handled above
            } else {
                return json(v);
            }
        },
        value);
}

std::string json_kind(const json& j) {
    switch (j.type()) {
        case json::value_t::null:
            return "null";
        case json::value_t::object:
            return "an object";
        case json::value_t::array:
            return "an array";
        case json::value_t::string:
            return "the string " + j.dump();
        case json::value_t::boolean:
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
        case json::value_t::number_float:
            return j.dump();
        default:
            return "an unsupported value";
    }
}

[[noreturn]] void fail_type(const std::string& path, const json& j, const std::string& expected) {
    fail(path, "expected " + expected + ", got " + json_kind(j));
}

double read_number(const std::string& path, const json& j) {
    if (!j.is_number()) {
        fail_type(path, j, "a number");
    }
    return j.get<double>();
}

std::vector<QuantOverride> read_overrides(const json& j, const std::string& path);

FieldValue read_value(const FieldSpec& field, const json& j, const std::string& path) {
    switch (field.type) {
        case FieldType::kBool:
            if (!j.is_boolean()) {
                fail_type(path, j, "true or false");
            }
            return j.get<bool>();
        case FieldType::kInt:
        case FieldType::kInt64:
            if (j.is_number_unsigned() && j.get<uint64_t>() > uint64_t(INT64_MAX)) {
                fail(path,
                     j.dump() + " is out of range (expected " + describe_expected(field) + ")");
            }
            if (!j.is_number_integer()) {
                fail_type(path, j, "an integer");
            }
            return j.get<int64_t>();
        case FieldType::kUInt64:
            if (j.is_number_integer() && !j.is_number_unsigned() && j.get<int64_t>() < 0) {
                fail(path, j.dump() + " is out of range (expected a non-negative integer)");
            }
            if (!j.is_number_integer()) {
                fail_type(path, j, "a non-negative integer");
            }
            return j.get<uint64_t>();
        case FieldType::kDouble:
            return read_number(path, j);
        case FieldType::kString:
        case FieldType::kEnum:
            if (!j.is_string()) {
                fail_type(path, j, describe_expected(field));
            }
            return j.get<std::string>();
        case FieldType::kStringList: {
            if (!j.is_array()) {
                fail_type(path, j, "an array of strings");
            }
            std::vector<std::string> list;
            for (std::size_t i = 0; i < j.size(); ++i) {
                if (!j[i].is_string()) {
                    fail_type(path + "[" + std::to_string(i) + "]", j[i], "a string");
                }
                list.push_back(j[i].get<std::string>());
            }
            return list;
        }
        case FieldType::kDoubleList: {
            if (!j.is_array()) {
                fail_type(path, j, describe_expected(field));
            }
            std::vector<double> list;
            for (std::size_t i = 0; i < j.size(); ++i) {
                list.push_back(read_number(path + "[" + std::to_string(i) + "]", j[i]));
            }
            return list;
        }
        case FieldType::kInt64List: {
            if (!j.is_array()) {
                fail_type(path, j, "an array of integers");
            }
            std::vector<int64_t> list;
            for (std::size_t i = 0; i < j.size(); ++i) {
                if (!j[i].is_number_integer() ||
                    (j[i].is_number_unsigned() && j[i].get<uint64_t>() > uint64_t(INT64_MAX))) {
                    fail_type(path + "[" + std::to_string(i) + "]", j[i], "an integer");
                }
                list.push_back(j[i].get<int64_t>());
            }
            return list;
        }
        case FieldType::kQuantOverrides:
            return read_overrides(j, path);
    }
    fail(path, "unsupported field type");
}

std::vector<QuantOverride> read_overrides(const json& j, const std::string& path) {
    if (!j.is_array()) {
        fail_type(path, j, "an array of objects");
    }
    std::vector<QuantOverride> list;
    for (std::size_t i = 0; i < j.size(); ++i) {
        const std::string entry_path = path + "[" + std::to_string(i) + "]";
        if (!j[i].is_object()) {
            fail_type(entry_path, j[i], "an object");
        }
        QuantOverride item;
        for (const auto& [key, value] : j[i].items()) {
            const std::string key_path = entry_path + "." + key;
            if (key == "layers") {
                if (!value.is_string()) {
                    fail_type(key_path, value, "a string");
                }
                item.layers = value.get<std::string>();
                continue;
            }
            const QuantTensorSpec* tensor = find_quant_tensor(key);
            if (tensor == nullptr) {
                fail(key_path, "unknown key '" + key + "'");
            }
            if (!value.is_object()) {
                fail_type(key_path, value, "an object");
            }
            Recipe scratch;  // keys not given keep the tensor type's defaults
            for (const auto& [name, setting] : value.items()) {
                const std::string setting_path = key_path + "." + name;
                const FieldSpec* field = find_field("quant." + key + "." + name);
                if (field == nullptr) {
                    fail(setting_path, detail::unknown_key_message("quant." + key + "." + name));
                }
                const FieldValue parsed = read_value(*field, setting, setting_path);
                if (auto problem = check_field_value(*field, parsed)) {
                    fail(setting_path, *problem);
                }
                field->set(scratch, parsed);
            }
            item.*tensor->override_member = scratch.quant.*tensor->member;
        }
        list.push_back(std::move(item));
    }
    return list;
}

void read_object(const json& object, const std::string& prefix, Recipe& recipe) {
    if (!object.is_object()) {
        fail_type(prefix, object, "an object");
    }
    for (const auto& [key, value] : object.items()) {
        const std::string path = prefix.empty() ? key : prefix + "." + key;
        if (find_section(path) != nullptr) {
            read_object(value, path, recipe);
        } else if (const FieldSpec* field = find_field(path)) {
            const FieldValue parsed = read_value(*field, value, path);
            if (auto problem = check_field_value(*field, parsed)) {
                fail(path, *problem);
            }
            field->set(recipe, parsed);
        } else {
            fail(path, detail::unknown_key_message(path));
        }
    }
}

}  // namespace

json recipe_to_json(const Recipe& recipe) {
    json root = json::object();
    for (const FieldSpec& field : recipe_fields()) {
        std::string pointer = "/" + field.path;  // key names hold no '/' or '~'
        for (char& c : pointer) {
            c = c == '.' ? '/' : c;
        }
        root[json::json_pointer(pointer)] = to_json_value(field.get(recipe));
    }
    return root;
}

Recipe recipe_from_json(const json& j) {
    Recipe recipe;
    read_object(j, "", recipe);
    for (const RecipeProblem& problem : check_recipe_consistency(recipe)) {
        if (problem.only_if_given) {
            continue;
        }
        fail(problem.key_path, problem.message);
    }
    return recipe;
}

}  // namespace lowbit::config
