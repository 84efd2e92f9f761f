// Recipe <-> JSON: the form stored with every run in the workspace database. Every field is
// written, enums as their names; reading is strict (unknown keys and wrong types are errors,
// missing keys take their defaults) and validates like the YAML reader.
#pragma once

#include "lowbit/config/recipe.h"

#include <nlohmann/json.hpp>

namespace lowbit::config {

nlohmann::json recipe_to_json(const Recipe& recipe);

// Throws RecipeError (file "recipe JSON", key path of the offending key).
Recipe recipe_from_json(const nlohmann::json& json);

}  // namespace lowbit::config
