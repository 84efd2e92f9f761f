// Recipe -> YAML, generated from the schema table: the plain form (recipe_to_yaml), the commented
// default recipe (default_recipe_yaml) and the yaml-cpp tree used by apply_overrides.
#include "lowbit/config/recipe_defaults.h"
#include "lowbit/config/recipe_schema.h"
#include "lowbit/config/recipe_yaml.h"

#include <cstdio>
#include <string>

#include "key_suggest.h"
#include "recipe_yaml_node.h"

namespace lowbit::config {
namespace {

constexpr std::size_t kMaxLine = 100;

std::string quote(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char escape[8];
                    std::snprintf(escape, sizeof(escape), "\\x%02x", static_cast<unsigned>(c));
                    out += escape;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

// The value as YAML text that reads back exactly (strings quoted, doubles shortest round-trip).
std::string value_text(const FieldSpec& field, const FieldValue& value) {
    if (const auto* b = std::get_if<bool>(&value)) {
        return *b ? "true" : "false";
    }
    if (const auto* i = std::get_if<int64_t>(&value)) {
        return std::to_string(*i);
    }
    if (const auto* u = std::get_if<uint64_t>(&value)) {
        return std::to_string(*u);
    }
    if (const auto* d = std::get_if<double>(&value)) {
        return format_double(*d);
    }
    if (const auto* s = std::get_if<std::string>(&value)) {
        return field.type == FieldType::kEnum ? *s : quote(*s);
    }
    std::string list = "[";
    if (const auto* overrides = std::get_if<std::vector<QuantOverride>>(&value)) {
        // Flow style: [{layers: "blocks.0.*", weight: {bits: 8, ...}}, ...]
        for (const QuantOverride& o : *overrides) {
            std::string entry = "{layers: " + quote(o.layers);
            for (const QuantTensorSpec& t : quant_tensors()) {
                if (const auto& spec = o.*t.override_member) {
                    std::string values;
                    for (const auto& [key, v] : quantizer_values(t, *spec)) {
                        const FieldSpec& inner = *find_field("quant." + t.name + "." + key);
                        values += (values.empty() ? "" : ", ") + key + ": " + value_text(inner, v);
                    }
                    entry += ", " + t.name + ": {" + values + "}";
                }
            }
            list += (list.size() > 1 ? ", " : "") + entry + "}";
        }
    } else if (const auto* strings = std::get_if<std::vector<std::string>>(&value)) {
        for (const std::string& s : *strings) {
            list += (list.size() > 1 ? ", " : "") + quote(s);
        }
    } else if (const auto* ints = std::get_if<std::vector<int64_t>>(&value)) {
        for (const int64_t i : *ints) {
            list += (list.size() > 1 ? ", " : "") + std::to_string(i);
        }
    } else {
        for (const double d : std::get<std::vector<double>>(value)) {
            list += (list.size() > 1 ? ", " : "") + format_double(d);
        }
    }
    return list + "]";
}

std::size_t depth_of(const std::string& section) {
    if (section.empty()) {
        return 0;
    }
    std::size_t depth = 1;
    for (const char c : section) {
        depth += c == '.' ? 1 : 0;
    }
    return depth;
}

// Walks the fields in table order, opening each section as its first key is reached.
std::string emit_yaml(const Recipe& recipe, bool with_comments) {
    std::string out;
    std::string open_section;
    for (const FieldSpec& field : recipe_fields()) {
        const auto [section, key] = detail::split_key_path(field.path);
        if (section != open_section) {
            // Open every section on the way from the common ancestor down to `section`.
            std::string ancestor = open_section;
            while (!ancestor.empty() && ancestor != section &&
                   !section.starts_with(ancestor + ".")) {
                ancestor = detail::split_key_path(ancestor).first;
            }
            std::size_t start = ancestor.empty() ? 0 : ancestor.size() + 1;
            while (!section.empty() && start <= section.size()) {
                const std::size_t end = std::min(section.find('.', start), section.size());
                const std::string path = section.substr(0, end);
                const std::string indent(2 * (depth_of(path) - 1), ' ');
                if (with_comments) {
                    out += depth_of(path) == 1 ? "\n" : "";
                    if (const SectionSpec* spec = find_section(path)) {
                        out += indent + "# " + spec->doc + "\n";
                    }
                }
                out += indent + section.substr(start, end - start) + ":\n";
                start = end + 1;
            }
            open_section = section;
        }
        const std::string indent(2 * depth_of(section), ' ');
        if (with_comments) {
            // Doc and accepted values on one comment line, or two when that would be too wide.
            const std::string doc = indent + "# " + field.doc + ".";
            const std::string expected = "Expected: " + describe_expected(field) + ".";
            out += doc.size() + 1 + expected.size() <= kMaxLine
                       ? doc + " " + expected + "\n"
                       : doc + "\n" + indent + "# " + expected + "\n";
        }
        out += indent + key + ": " + value_text(field, field.get(recipe)) + "\n";
    }
    return out;
}

YAML::Node value_node(const FieldSpec& field, const FieldValue& value) {
    if (const auto* overrides = std::get_if<std::vector<QuantOverride>>(&value)) {
        YAML::Node list(YAML::NodeType::Sequence);
        for (const QuantOverride& o : *overrides) {
            YAML::Node entry(YAML::NodeType::Map);
            entry["layers"] = o.layers;
            for (const QuantTensorSpec& t : quant_tensors()) {
                if (const auto& spec = o.*t.override_member) {
                    YAML::Node values(YAML::NodeType::Map);
                    for (const auto& [key, v] : quantizer_values(t, *spec)) {
                        values[key] = value_node(*find_field("quant." + t.name + "." + key), v);
                    }
                    entry[t.name] = values;
                }
            }
            list.push_back(entry);
        }
        return list;
    }
    if (const auto* strings = std::get_if<std::vector<std::string>>(&value)) {
        YAML::Node list(YAML::NodeType::Sequence);
        for (const std::string& s : *strings) {
            list.push_back(s);
        }
        return list;
    }
    if (const auto* ints = std::get_if<std::vector<int64_t>>(&value)) {
        YAML::Node list(YAML::NodeType::Sequence);
        for (const int64_t i : *ints) {
            list.push_back(std::to_string(i));
        }
        return list;
    }
    if (const auto* doubles = std::get_if<std::vector<double>>(&value)) {
        YAML::Node list(YAML::NodeType::Sequence);
        for (const double d : *doubles) {
            list.push_back(format_double(d));
        }
        return list;
    }
    if (const auto* s = std::get_if<std::string>(&value)) {
        return YAML::Node(*s);
    }
    return YAML::Node(value_text(field, value));
}

}  // namespace

std::string field_value_yaml(const FieldSpec& field, const FieldValue& value) {
    return value_text(field, value);
}

std::string recipe_to_yaml(const Recipe& recipe) {
    return emit_yaml(recipe, false);
}

std::string default_recipe_yaml() {
    return "# Lowbit Studio recipe with every key at its default (`lowbit recipe defaults`).\n"
           "# Keep only the keys you change; `lowbit recipe check FILE` validates a recipe and\n"
           "# `--set key.path=value` overrides a key on the command line.\n" +
           emit_yaml(Recipe{}, true);
}

namespace detail {

YAML::Node recipe_to_node(const Recipe& recipe) {
    YAML::Node root(YAML::NodeType::Map);
    for (const FieldSpec& field : recipe_fields()) {
        YAML::Node map;
        map.reset(root);
        std::size_t start = 0;
        for (std::size_t dot = field.path.find('.'); dot != std::string::npos;
             dot = field.path.find('.', start)) {
            const std::string part = field.path.substr(start, dot - start);
            if (!map[part].IsDefined()) {
                map[part] = YAML::Node(YAML::NodeType::Map);
            }
            YAML::Node child = map[part];
            map.reset(child);
            start = dot + 1;
        }
        map[field.path.substr(start)] = value_node(field, field.get(recipe));
    }
    return root;
}

}  // namespace detail
}  // namespace lowbit::config
