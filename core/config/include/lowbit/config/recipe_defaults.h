// The default recipe as commented YAML (`lowbit recipe defaults`), generated from the schema table.
#pragma once

#include <string>

namespace lowbit::config {

// Every key at its default, each with a comment saying what it does, its unit and allowed values.
// Parses back into Recipe{}.
std::string default_recipe_yaml();

}  // namespace lowbit::config
