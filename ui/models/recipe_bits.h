// The bit-widths a run's recipe gives each tensor type, in one short label for the run browser:
// "W8 A8 G8 m32 v32" (weights, activations, output gradients, AdamW m and v; 32 = not quantized),
// from the validated recipe JSON stored with the run (docs/quantized-pretraining.md §Recipe). A
// qat run's label is the grid it packs to and its method instead: "W3 g32 efficientqat"
// (docs/efficientqat.md).
#pragma once

#include "lowbit/config/recipe.h"

#include <string>

namespace lowbit::ui {

// The bits a quantizer stores its tensor in: its bits when enabled, else 32 (full precision).
int quantizer_bits(const config::QuantizerSpec& spec);

// "" when the JSON is empty or not a recipe this build reads. `kind` is the run's kind.
std::string recipe_bits_label(const std::string& recipe_json, const std::string& kind = "train");

}  // namespace lowbit::ui
