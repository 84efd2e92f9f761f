// The recipe YAML reader's per-key values: numbers, booleans, strings, lists, paths resolved
// against the recipe's folder, and quant.overrides entries, each checked against the schema table.
#include "key_suggest.h"
#include "recipe_reader.h"
#include "scalar_parse.h"

namespace lowbit::config::detail {

std::string RecipeReader::resolve_path(const std::string& entry) const {
    if (!base_dir_ || entry.starts_with("builtin:") || fs::path(entry).is_absolute()) {
        return entry;
    }
    return (*base_dir_ / entry).lexically_normal().string();
}

double RecipeReader::read_number(const FieldSpec& field,
                                 const YAML::Node& node,
                                 const std::string& path) {
    if (is_plain_scalar(node)) {
        if (auto value = detail::parse_double(node.Scalar())) {
            return *value;
        }
    }
    fail_type(
        path, node, field.type == FieldType::kDoubleList ? "a number" : describe_expected(field));
}

FieldValue RecipeReader::read_value(const FieldSpec& field,
                                    const YAML::Node& node,
                                    const std::string& path,
                                    bool from_text) {
    switch (field.type) {
        case FieldType::kBool:
            if (is_plain_scalar(node)) {
                if (auto value = detail::parse_bool(node.Scalar())) {
                    return *value;
                }
            }
            fail_type(path, node, "true or false");
        case FieldType::kInt:
        case FieldType::kInt64:
        case FieldType::kUInt64: {
            if (!is_plain_scalar(node)) {
                fail_type(path, node, "an integer");
            }
            int64_t signed_value = 0;
            uint64_t unsigned_value = 0;
            const bool is_unsigned = field.type == FieldType::kUInt64;
            const detail::IntParse parsed =
                is_unsigned ? detail::parse_uint64(node.Scalar(), unsigned_value)
                            : detail::parse_int64(node.Scalar(), signed_value);
            if (parsed == detail::IntParse::kNotAnInteger) {
                fail_type(path, node, is_unsigned ? "a non-negative integer" : "an integer");
            }
            if (parsed == detail::IntParse::kOverflow) {
                fail(
                    locate(path, node.Mark()),
                    path,
                    node.Scalar() + " is out of range (expected " + describe_expected(field) + ")");
            }
            return is_unsigned ? FieldValue{unsigned_value} : FieldValue{signed_value};
        }
        case FieldType::kDouble:
            return read_number(field, node, path);
        case FieldType::kString:
        case FieldType::kEnum:
            if (node.IsNull() && field.type == FieldType::kString) {
                return std::string();
            }
            if (!node.IsScalar()) {
                fail_type(path, node, describe_expected(field));
            }
            return field.is_path && from_text && !node.Scalar().empty()
                       ? resolve_path(node.Scalar())
                       : node.Scalar();
        case FieldType::kStringList: {
            std::vector<std::string> list;
            if (node.IsScalar()) {
                list.push_back(node.Scalar());
            } else if (node.IsSequence()) {
                for (std::size_t i = 0; i < node.size(); ++i) {
                    const std::string element_path = path + "[" + std::to_string(i) + "]";
                    if (!node[i].IsScalar()) {
                        fail_type(element_path, node[i], "a string");
                    }
                    list.push_back(node[i].Scalar());
                }
            } else if (!node.IsNull()) {
                fail_type(path, node, describe_expected(field));
            }
            for (std::string& entry : list) {
                if (field.is_path && from_text && !entry.empty()) {
                    entry = resolve_path(entry);
                }
            }
            return list;
        }
        case FieldType::kDoubleList: {
            if (!node.IsSequence()) {
                fail_type(path, node, describe_expected(field));
            }
            std::vector<double> list;
            for (std::size_t i = 0; i < node.size(); ++i) {
                list.push_back(read_number(field, node[i], path + "[" + std::to_string(i) + "]"));
            }
            return list;
        }
        case FieldType::kInt64List: {
            // One integer or a list of them; null (nothing written) is the empty list.
            std::vector<int64_t> list;
            std::vector<std::pair<YAML::Node, std::string>> elements;
            if (node.IsScalar()) {
                elements.emplace_back(node, path);
            } else if (node.IsSequence()) {
                for (std::size_t i = 0; i < node.size(); ++i) {
                    elements.emplace_back(node[i], path + "[" + std::to_string(i) + "]");
                }
            } else if (!node.IsNull()) {
                fail_type(path, node, describe_expected(field));
            }
            for (const auto& [element, element_path] : elements) {
                int64_t value = 0;
                if (!is_plain_scalar(element) ||
                    detail::parse_int64(element.Scalar(), value) != detail::IntParse::kOk) {
                    fail_type(element_path, element, "an integer");
                }
                list.push_back(value);
            }
            return list;
        }
        case FieldType::kQuantOverrides:
            return read_overrides(node, path, from_text);
    }
    fail(locate(path, node.Mark()), path, "unsupported field type");
}

std::vector<QuantOverride> RecipeReader::read_overrides(const YAML::Node& node,
                                                        const std::string& path,
                                                        bool from_text) {
    std::vector<QuantOverride> list;
    if (node.IsNull()) {
        return list;
    }
    if (!node.IsSequence()) {
        fail_type(path, node, describe_expected(*find_field("quant.overrides")));
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
        const YAML::Node& entry = node[i];
        const std::string entry_path = path + "[" + std::to_string(i) + "]";
        if (!entry.IsMap()) {
            fail_type(entry_path, entry, "a map {layers: GLOB, weight: {bits: 8}, ...}");
        }
        QuantOverride item;
        for (const auto& kv : entry) {
            const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
            const std::string key_path = entry_path + "." + key;
            const YAML::Node& value = kv.second;
            if (key == "layers") {
                if (!value.IsScalar() || value.Scalar().empty()) {
                    fail_type(
                        key_path, value, "a non-empty layer path pattern, e.g. \"blocks.0.*\"");
                }
                item.layers = value.Scalar();
                continue;
            }
            const QuantTensorSpec* tensor = find_quant_tensor(key);
            if (tensor == nullptr) {
                fail(locate(key_path, kv.first.Mark()),
                     key_path,
                     "unknown key '" + key +
                         "' (expected one of: layers, weight, activation, grad_output, optim_m, "
                         "optim_v)");
            }
            if (!value.IsMap()) {
                fail_type(key_path, value, "a map of quant." + key + " keys, e.g. {bits: 8}");
            }
            Recipe scratch;  // keys not given keep the tensor type's defaults
            for (const auto& setting : value) {
                const std::string name = setting.first.Scalar();
                const std::string setting_path = key_path + "." + name;
                const FieldSpec* field = find_field("quant." + key + "." + name);
                if (field == nullptr) {
                    fail(locate(setting_path, setting.first.Mark()),
                         setting_path,
                         unknown_key_message("quant." + key + "." + name));
                }
                const FieldValue parsed =
                    read_value(*field, setting.second, setting_path, from_text);
                if (auto problem = check_field_value(*field, parsed)) {
                    fail(locate(setting_path, setting.second.Mark()), setting_path, *problem);
                }
                field->set(scratch, parsed);
            }
            item.*tensor->override_member = scratch.quant.*tensor->member;
        }
        list.push_back(std::move(item));
    }
    return list;
}

}  // namespace lowbit::config::detail
