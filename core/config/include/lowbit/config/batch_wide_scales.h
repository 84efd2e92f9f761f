// Which activation and output-gradient quantizers of a recipe take their scales over many rows of
// the batch (docs/distributed.md §Batches). A per_token or per_group scale belongs to one row, so
// every rank of a data-parallel run computes it as one process does; a per_tensor scale covers the
// whole (B·T, C) tensor and a per_position one every sequence of the batch, so each rank takes
// them over its own rows only, and the run is not the computation of one process at that batch.
// Derived from the kernels' format table (quant_format.h), so a new granularity needs no rule.
#pragma once

#include "lowbit/config/recipe.h"

#include <string>
#include <vector>

namespace lowbit::config {

/// The enabled A and G quantizers of `quant` (the section's, then each override's) whose scales
/// span rows, each as "activation per_tensor" or "grad_output per_position (layers blocks.0.*)".
/// Empty when every enabled one is row-local.
std::vector<std::string> batch_wide_scales(const QuantSpec& quant);

}  // namespace lowbit::config
