// The GPTQ baseline applied block by block (docs/efficientqat.md §GPTQ baseline): the Hessian of
// every Linear of a block comes from one pass of the quantized stream's calibration windows
// through the still full-precision block, each Linear is then quantized with gptq_quantize, and
// the block continues as a finished, packed block exactly as after Block-AP.
#pragma once

#include "lowbit/qat/block_ap.h"
#include "lowbit/qat/gptq.h"

namespace lowbit::qat {

// Quantizes block `index` of `model` (eval mode) and returns it finished: its Linears then
// compute with PackedLinear and `streams` holds the inputs of block index + 1. The norms keep
// their values. `batch` windows per forward pass. With a `world`, the streams hold this rank's
// windows and the Hessians are summed over the ranks before quantizing (collective), so every
// rank quantizes with the Hessian of all windows.
FinishedBlock gptq_block(model::LanguageModelImpl& model,
                         int64_t index,
                         ActivationStreams& streams,
                         const GroupQuantSpec& spec,
                         const GptqOptions& options,
                         int64_t batch,
                         dist::World* world = nullptr);

}  // namespace lowbit::qat
