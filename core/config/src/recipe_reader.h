// Internal: the recipe YAML reader (recipe_yaml.cpp: tree walk, overrides and cross-key rules;
// recipe_reader_values.cpp: one key's value, including quant.overrides), with the locations it
// remembers so every error names its file, line:column and key path.
#pragma once

#include "lowbit/config/recipe_schema.h"
#include "lowbit/config/recipe_yaml.h"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace lowbit::config::detail {
namespace fs = std::filesystem;

struct Location {
    std::string source;
    int line = 0;  // 1-based, 0 unknown
    int column = 0;
};

// "nothing (null)", "a list", "a map", "the quoted string 'x'" or "'x'".
std::string describe_node(const YAML::Node& node);
// A scalar written without quotes (quoted text is never a number or boolean).
bool is_plain_scalar(const YAML::Node& node);

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
    // One quantizer map {bits: 8, granularity: ...} checked against the quant.<tensor>.* rows;
    // keys not given keep that tensor type's defaults. `prefix` starts key paths in errors ("" for
    // a standalone spec file). Defined in quantizer_yaml.cpp.
    QuantizerSpec read_quantizer(const YAML::Node& node,
                                 const QuantTensorSpec& tensor,
                                 const std::string& prefix);

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
    // quant.overrides: a list of {layers: GLOB, <tensor>: {<quant.<tensor> key>: value}} maps.
    std::vector<QuantOverride> read_overrides(const YAML::Node& node,
                                              const std::string& path,
                                              bool from_text);

    std::string source_;
    std::optional<fs::path> base_dir_;
    std::vector<std::pair<std::string, std::string>> override_sources_;  // key path, "--set ..."
    bool tree_is_given_ = true;
    std::map<std::string, Location> seen_;  // keys given by the author, where
};

}  // namespace lowbit::config::detail
