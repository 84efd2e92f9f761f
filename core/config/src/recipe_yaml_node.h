// Internal: a Recipe as a yaml-cpp tree (every key), so overrides can be applied to a recipe that
// did not come from a file (apply_overrides on the built-in default).
#pragma once

#include "lowbit/config/recipe.h"

#include <yaml-cpp/yaml.h>

namespace lowbit::config::detail {

YAML::Node recipe_to_node(const Recipe& recipe);

}  // namespace lowbit::config::detail
