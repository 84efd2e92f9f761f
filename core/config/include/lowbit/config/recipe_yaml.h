// Recipe YAML in and out: load a recipe file (or text) with `--set key.path=value` overrides,
// validate every key against the schema, and report bad input as a RecipeError that names the
// file, line:column and key path. Also the plain YAML form of a recipe for `lowbit runs show`.
#pragma once

#include "lowbit/config/recipe.h"

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit::config {

// Bad recipe input. what() is "FILE:LINE:COL: KEY_PATH: detail", where ":LINE:COL" is left out
// when the line is unknown (0) and "KEY_PATH: " when there is no key (e.g. a YAML syntax error).
// FILE is the recipe path, the source name given to parse_recipe_yaml, or "--set key=value".
class RecipeError : public std::runtime_error {
public:
    RecipeError(std::string file, int line, int column, std::string key_path, std::string detail);

    const std::string& file() const {
        return file_;
    }

    int line() const {  // 1-based; 0 if unknown
        return line_;
    }

    int column() const {  // 1-based; 0 if unknown
        return column_;
    }

    const std::string& key_path() const {  // e.g. "train.lr"; "" if none
        return key_path_;
    }

    const std::string& detail() const {  // the message after the location and key
        return detail_;
    }

private:
    std::string file_;
    int line_ = 0;
    int column_ = 0;
    std::string key_path_;
    std::string detail_;
};

// Reads, parses and validates a recipe file; overrides ("key.path=value", value parsed as YAML)
// are applied to the YAML tree before validation. Relative paths in data.train, data.val and
// data.tokenizer_model are resolved against the file's folder (override values are kept as given).
Recipe load_recipe_file(const std::filesystem::path& path,
                        const std::vector<std::string>& overrides = {});

// The same for YAML text; `source_name` names it in errors. Paths are kept as given.
Recipe parse_recipe_yaml(std::string_view text,
                         const std::string& source_name,
                         const std::vector<std::string>& overrides = {});

// Applies "key.path=value" overrides to a recipe (e.g. the built-in default) and validates it.
Recipe apply_overrides(Recipe base, const std::vector<std::string>& overrides);

// The recipe as plain YAML, every key, no comments; parses back into an equal Recipe.
std::string recipe_to_yaml(const Recipe& recipe);

}  // namespace lowbit::config
