#include "compare/config_diff.h"

#include "lowbit/config/recipe_json.h"
#include "lowbit/config/recipe_yaml.h"

#include <exception>

#include <nlohmann/json.hpp>

namespace lowbit::ui {

RecipeColumn read_recipe_column(const std::string& recipe_json) {
    RecipeColumn column;
    const nlohmann::json json = nlohmann::json::parse(recipe_json, nullptr, false);
    if (json.is_discarded()) {
        column.error = "recipe JSON: not valid JSON";
        return column;
    }
    try {
        column.recipe = config::recipe_from_json(json);
    } catch (const config::RecipeError& error) {
        column.error = error.what();
    } catch (const std::exception& error) {  // a JSON type error the reader did not wrap
        column.error = std::string("recipe JSON: ") + error.what();
    }
    return column;
}

std::vector<ConfigDiffRow> diff_recipes(const std::vector<RecipeColumn>& columns) {
    std::vector<ConfigDiffRow> rows;
    for (const config::FieldSpec& field : config::recipe_fields()) {
        ConfigDiffRow row;
        row.field = &field;
        for (const RecipeColumn& column : columns) {
            if (!column.recipe) {
                row.values.emplace_back();
                continue;
            }
            row.values.emplace_back(config::field_value_yaml(field, field.get(*column.recipe)));
        }
        // field_value_yaml reads back exactly, so equal text is equal value.
        const std::optional<std::string>* first = nullptr;
        for (const auto& value : row.values) {
            if (!value) {
                continue;
            }
            if (first == nullptr) {
                first = &value;
            } else if (*value != **first) {
                row.differs = true;
            }
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace lowbit::ui
