// From a recipe's quantizer spec (lowbit::config, torch-free) to the kernels' FakeQuantParams.
// The spec's enums are the kernels' own (kernels/quant_format.h), so this only copies fields.
// Tensors are quantized as 2-D row-major views (rows, cols) whose last axis is the reduction axis
// of per-row scales: W (out, in) -> one scale per output channel (per_channel); X (B*T, in) and
// G (B*T, out) -> one scale per token (per_token); AdamW m and v have W's shape -> one scale per
// output row. per_channel and per_token lay their groups alike (ScaleGroups::kRows).
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/kernels/fake_quant.h"

#include <cstdint>

namespace lowbit::quant {

// Kernel parameters for an enabled spec (bits 2..8). `seed` feeds stochastic rounding only;
// callers pass a different seed per call so successive roundings are independent.
kernels::FakeQuantParams kernel_params(const config::QuantizerSpec& spec, std::uint64_t seed = 0);

}  // namespace lowbit::quant
