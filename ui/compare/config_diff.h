// The config diff of runs' recipes (docs/studio.md §Compare): one row per leaf key of the recipe
// schema table, in its order, with each recipe's value as the YAML text `lowbit recipe defaults`
// writes, and whether the readable recipes disagree. Driven by recipe_fields() alone, so a key
// added to the schema appears here without UI code.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/config/recipe_schema.h"

#include <optional>
#include <string>
#include <vector>

namespace lowbit::ui {

// One run's recipe as stored (runs.recipe_json), or why it cannot be read.
struct RecipeColumn {
    std::optional<config::Recipe> recipe;
    std::string error;  // set when recipe is empty: what is wrong and at which key
};

// Parses and validates stored recipe JSON; never throws.
RecipeColumn read_recipe_column(const std::string& recipe_json);

struct ConfigDiffRow {
    const config::FieldSpec* field = nullptr;
    // One value per recipe, in the order given; nullopt where the recipe is unreadable.
    std::vector<std::optional<std::string>> values;
    // The readable recipes do not all hold the same value (an unreadable one is no evidence).
    bool differs = false;
};

std::vector<ConfigDiffRow> diff_recipes(const std::vector<RecipeColumn>& columns);

}  // namespace lowbit::ui
