// One quantizer entry on its own, in the recipe's syntax ({bits, granularity, group_size,
// symmetric, rounding, min_range, grid}), e.g. the SPEC.yaml of `lowbit quant`. Keys are checked
// against the quant.weight.* rows of the schema; errors are RecipeError "FILE:LINE:COL: KEY: ...".
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/config/recipe_yaml.h"

#include <filesystem>
#include <string>
#include <string_view>

namespace lowbit::config {

// Parses a YAML map of quantizer keys. Keys not given take quant.weight's defaults (per_channel,
// min_range 1e-5, bits 32 = off); no per-tensor-type granularity rule applies here.
QuantizerSpec parse_quantizer_yaml(std::string_view text, const std::string& source_name);

// The same for a file (a missing or unreadable file is a RecipeError naming it).
QuantizerSpec load_quantizer_file(const std::filesystem::path& path);

}  // namespace lowbit::config
