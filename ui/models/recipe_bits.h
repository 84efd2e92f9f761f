// The bit-widths a run's recipe gives each tensor type, in one short label for the run browser:
// "W8 A8 G8 m32 v32" (weights, activations, output gradients, AdamW m and v; 32 = not quantized),
// from the validated recipe JSON stored with the run (docs/quantized-pretraining.md §Recipe).
#pragma once

#include <string>

namespace lowbit::ui {

// "" when the JSON is empty or not a recipe this build reads.
std::string recipe_bits_label(const std::string& recipe_json);

}  // namespace lowbit::ui
