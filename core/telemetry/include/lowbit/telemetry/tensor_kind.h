// The tensor kinds telemetry records per quantized linear are the quantizer kinds of a layer
// (quant::TensorKind: W (out, in), A (B·T, in), G = dL/dY (B·T, out), AdamW m and v of W's
// shape), with the same stable names: the tensor_kind column of the histograms and quant_stats
// tables, and telemetry.kinds in recipes.
#pragma once

#include "lowbit/quant/layer_quantizers.h"

#include <optional>
#include <string_view>

namespace lowbit::telemetry {

using quant::TensorKind;
using quant::to_string;  // "weight", "activation", "grad_output", "optim_m", "optim_v"
inline constexpr const auto& kAllTensorKinds = quant::kTensorKinds;

/// The kind of a name, or nullopt for an unknown one.
std::optional<TensorKind> tensor_kind_from_string(std::string_view name);

}  // namespace lowbit::telemetry
