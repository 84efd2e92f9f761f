// The recipe form's values as text: each recipe key's value as the YAML scalar or flow list the
// form shows (strings unquoted, everything else as `lowbit recipe defaults` writes it), read from
// a Recipe, and the YAML document built from such values in the schema table's order. The form
// may hold invalid values: validation is lowbit_config's parse of that document.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/config/recipe_schema.h"

#include <map>
#include <string>

namespace lowbit::ui {

using FormValues = std::map<std::string, std::string>;  // key path -> text

std::string form_text(const config::FieldSpec& field, const config::Recipe& recipe);
FormValues form_values(const config::Recipe& recipe);

// Block-style YAML of every key in `values` (keys missing from it are left out, so they take
// their defaults), sections opened in table order.
std::string form_yaml(const FormValues& values);

}  // namespace lowbit::ui
