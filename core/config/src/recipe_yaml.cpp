// Recipe YAML reader: parses the text, applies `--set` overrides to the YAML tree, then walks it
// against the schema table (types, ranges, enums, unknown and duplicate keys, cross-key rules),
// remembering where each key came from so every error names its file, line:column and key path.
#include "lowbit/config/recipe_yaml.h"

#include "lowbit/config/recipe_schema.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "key_suggest.h"
#include "recipe_yaml_node.h"
#include "scalar_parse.h"
#include <yaml-cpp/yaml.h>

namespace lowbit::config {
namespace {
namespace fs = std::filesystem;

struct Location {
    std::string source;
    int line = 0;  // 1-based, 0 unknown
    int column = 0;
};

std::string describe_node(const YAML::Node& node) {
    if (!node.IsDefined() || node.IsNull()) {
        return "nothing (null)";
    }
    if (node.IsSequence()) {
        return "a list";
    }
    if (node.IsMap()) {
        return "a map";
    }
    if (node.Tag() == "!") {
        return "the quoted string '" + node.Scalar() + "'";
    }
    return "'" + node.Scalar() + "'";
}

bool is_plain_scalar(const YAML::Node& node) {
    return node.IsScalar() && node.Tag() != "!";
}

class RecipeReader {
public:
    // `tree_is_given`: the YAML tree is the author's text (false: a Recipe turned into a tree,
    // where only the overrides were given).
    RecipeReader(std::string source, std::optional<fs::path> base_dir, bool tree_is_given = true)
        : source_(std::move(source)),
          base_dir_(std::move(base_dir)),
          tree_is_given_(tree_is_given) {}

    YAML::Node parse(std::string_view text) const {
        try {
            return YAML::Load(std::string(text));
        } catch (const YAML::Exception& e) {
            throw RecipeError(source_, e.mark.line + 1, e.mark.column + 1, "", e.msg);
        }
    }

    void apply_override(YAML::Node& root, const std::string& text);
    Recipe read(const YAML::Node& root);

private:
    Location locate(const std::string& path, const YAML::Mark& mark) const;

    [[noreturn]] void fail(const Location& at, const std::string& key, std::string detail) const {
        throw RecipeError(at.source, at.line, at.column, key, std::move(detail));
    }

    [[noreturn]] void fail_type(const std::string& path,
                                const YAML::Node& node,
                                const std::string& expected) const {
        fail(locate(path, node.Mark()),
             path,
             "expected " + expected + ", got " + describe_node(node));
    }

    void read_section(const YAML::Node& node, const std::string& prefix, Recipe& recipe);
    // `from_text`: the value was written in the recipe text (paths resolve against its folder).
    FieldValue read_value(const FieldSpec& field,
                          const YAML::Node& node,
                          const std::string& path,
                          bool from_text);
    double read_number(const FieldSpec& field, const YAML::Node& node, const std::string& path);
    std::string resolve_path(const std::string& entry) const;

    std::string source_;
    std::optional<fs::path> base_dir_;
    std::vector<std::pair<std::string, std::string>> override_sources_;  // key path, "--set ..."
    bool tree_is_given_ = true;
    std::map<std::string, Location> seen_;  // keys given by the author, where
};

Location RecipeReader::locate(const std::string& path, const YAML::Mark& mark) const {
    for (auto it = override_sources_.rbegin(); it != override_sources_.rend(); ++it) {
        const std::string& key = it->first;
        if (path == key ||
            (path.starts_with(key) && (path[key.size()] == '.' || path[key.size()] == '['))) {
            return {it->second, 0, 0};
        }
    }
    if (mark.line < 0) {
        return {source_, 0, 0};
    }
    return {source_, mark.line + 1, mark.column + 1};
}

void RecipeReader::apply_override(YAML::Node& root, const std::string& text) {
    const Location here{"--set " + text, 0, 0};
    const std::size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
        fail(here, "", "expected key.path=value");
    }
    const std::string key = text.substr(0, eq);
    if (find_field(key) == nullptr && find_section(key) == nullptr) {
        fail(here, key, detail::unknown_key_message(key));
    }
    YAML::Node value;
    try {
        value = YAML::Load(text.substr(eq + 1));
    } catch (const YAML::Exception& e) {
        fail({here.source, 1, static_cast<int>(eq) + 2 + e.mark.column}, key, e.msg);
    }
    if (!root.IsMap()) {
        if (!root.IsNull() && root.IsDefined()) {
            fail(locate("", root.Mark()),
                 "",
                 "expected a map of sections, got " + describe_node(root));
        }
        root.reset(YAML::Node(YAML::NodeType::Map));
    }
    YAML::Node map;
    map.reset(root);
    std::string path;
    std::size_t start = 0;
    for (std::size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', start)) {
        const std::string part = key.substr(start, dot - start);
        path += (path.empty() ? "" : ".") + part;
        YAML::Node child = map[part];
        if (!child.IsDefined() || child.IsNull()) {
            map[part] = YAML::Node(YAML::NodeType::Map);
            child.reset(map[part]);
        } else if (!child.IsMap()) {
            fail(locate(path, child.Mark()),
                 path,
                 "expected a map of keys, got " + describe_node(child));
        }
        map.reset(child);
        start = dot + 1;
    }
    map[key.substr(start)] = value;
    override_sources_.emplace_back(key, here.source);
}

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
    }
    fail(locate(path, node.Mark()), path, "unsupported field type");
}

void RecipeReader::read_section(const YAML::Node& node, const std::string& prefix, Recipe& recipe) {
    if (!node.IsDefined() || node.IsNull()) {
        return;  // an empty section: all defaults
    }
    if (!node.IsMap()) {
        const std::string what =
            prefix.empty() ? "a map of sections (name, seed, model, data, train)" : "a map of keys";
        fail(locate(prefix, node.Mark()),
             prefix,
             "expected " + what + ", got " + describe_node(node));
    }
    std::map<std::string, int> first_line;
    for (const auto& entry : node) {
        const YAML::Node& key_node = entry.first;
        const std::string key = key_node.IsScalar() ? key_node.Scalar() : std::string("?");
        const std::string path = prefix.empty() ? key : prefix + "." + key;
        const Location key_at = locate(path, key_node.Mark());
        if (!key_node.IsScalar()) {
            fail(key_at, prefix, "expected a key name, got " + describe_node(key_node));
        }
        if (const auto [it, inserted] = first_line.emplace(key, key_at.line); !inserted) {
            fail(key_at,
                 path,
                 "duplicate key (first given on line " + std::to_string(it->second) + ")");
        }
        const Location value_at = locate(path, entry.second.Mark());
        if (find_section(path) != nullptr) {
            if (tree_is_given_ || value_at.source != source_) {
                seen_[path] = value_at;
            }
            read_section(entry.second, path, recipe);
        } else if (const FieldSpec* field = find_field(path)) {
            const bool null_allowed =
                field->type == FieldType::kString || field->type == FieldType::kStringList;
            if (entry.second.IsNull() && !null_allowed) {
                // yaml-cpp places an empty value at the next line; point at the key instead.
                fail(
                    key_at, path, "expected " + describe_expected(*field) + ", got nothing (null)");
            }
            const FieldValue value =
                read_value(*field, entry.second, path, value_at.source == source_);
            if (auto problem = check_field_value(*field, value)) {
                fail(value_at, path, *problem);
            }
            field->set(recipe, value);
            if (tree_is_given_ || value_at.source != source_) {
                seen_[path] = value_at;
            }
        } else {
            fail(key_at, path, detail::unknown_key_message(path));
        }
    }
}

Recipe RecipeReader::read(const YAML::Node& root) {
    Recipe recipe;
    read_section(root, "", recipe);
    for (const RecipeProblem& problem : check_recipe_consistency(recipe)) {
        if (problem.only_if_given && !seen_.contains(problem.key_path)) {
            continue;
        }
        Location at{source_, 0, 0};
        if (auto it = seen_.find(problem.key_path); it != seen_.end()) {
            at = it->second;
        } else if (auto other = seen_.find(problem.other_key); other != seen_.end()) {
            at = other->second;
        }
        fail(at, problem.key_path, problem.message);
    }
    return recipe;
}

Recipe read_recipe(std::string_view text,
                   const std::string& source,
                   std::optional<fs::path> base_dir,
                   const std::vector<std::string>& overrides) {
    RecipeReader reader(source, std::move(base_dir));
    YAML::Node root = reader.parse(text);
    for (const std::string& text_override : overrides) {
        reader.apply_override(root, text_override);
    }
    return reader.read(root);
}

}  // namespace

Recipe load_recipe_file(const fs::path& path, const std::vector<std::string>& overrides) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        throw RecipeError(path.string(), 0, 0, "", "recipe file not found");
    }
    if (fs::is_directory(path, ec)) {
        throw RecipeError(path.string(), 0, 0, "", "is a directory (expected a recipe YAML file)");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw RecipeError(path.string(), 0, 0, "", "cannot open the recipe file for reading");
    }
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) {
        throw RecipeError(path.string(), 0, 0, "", "cannot read the recipe file");
    }
    const fs::path folder = fs::absolute(path, ec).parent_path();
    return read_recipe(text, path.string(), ec ? path.parent_path() : folder, overrides);
}

Recipe parse_recipe_yaml(std::string_view text,
                         const std::string& source_name,
                         const std::vector<std::string>& overrides) {
    return read_recipe(text, source_name, std::nullopt, overrides);
}

Recipe apply_overrides(Recipe base, const std::vector<std::string>& overrides) {
    if (overrides.empty()) {
        return base;
    }
    RecipeReader reader("<recipe>", std::nullopt, false);
    YAML::Node root = detail::recipe_to_node(base);
    for (const std::string& text_override : overrides) {
        reader.apply_override(root, text_override);
    }
    return reader.read(root);
}

}  // namespace lowbit::config
