// Recipe YAML reader: parses the text, applies `--set` overrides to the YAML tree, then walks it
// against the schema table (types, ranges, enums, unknown and duplicate keys, cross-key rules),
// remembering where each key came from so every error names its file, line:column and key path.
#include "lowbit/config/recipe_yaml.h"

#include "lowbit/config/recipe_schema.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "key_suggest.h"
#include "recipe_reader.h"
#include "recipe_yaml_node.h"
#include "scalar_parse.h"
#include <yaml-cpp/yaml.h>

namespace lowbit::config {
namespace detail {

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
                field->type == FieldType::kString || field->type == FieldType::kStringList ||
                field->type == FieldType::kInt64List || field->type == FieldType::kQuantOverrides;
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

}  // namespace detail

namespace {
namespace fs = std::filesystem;
using detail::RecipeReader;

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
