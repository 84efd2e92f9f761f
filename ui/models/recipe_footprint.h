// RecipeFootprint: what a recipe costs before it runs, from the recipe alone: the model's parameter
// count (the layer shapes of core/model: GPT-2 with biases and learned positions, Llama without
// either), the weight and AdamW-state memory in fp32 and in the chosen quantizer formats (bytes
// of the kernels' stored codes and scales: kernels/quant_format.h stored_state_bytes), and the
// tokens per optimizer step.
#pragma once

#include "lowbit/config/recipe.h"

#include <cstdint>
#include <string>

namespace lowbit::ui {

struct RecipeFootprint {
    int64_t parameters = 0;
    int64_t vocab = 0;              // embedding rows: model.vocab_size, else the tokenizer's
    int64_t weight_bytes_fp32 = 0;  // fp32 master weights
    // The weights as the quantized linears store them (codes + scales; the rest in fp32).
    int64_t weight_bytes_quantized = 0;
    int64_t optimizer_bytes_fp32 = 0;  // AdamW m and v in fp32
    // m and v as stored: quantized for the linears in quant.scope, fp32 for embeddings, biases,
    // norms and a tied lm_head. Per-layer overrides are not counted.
    int64_t optimizer_bytes_quantized = 0;
    int64_t tokens_per_step = 0;  // batch_size x grad_accum x context
};

RecipeFootprint recipe_footprint(const config::Recipe& recipe);

// What `lowbit qat` packs of the model of `source` (a trained run's recipe) at `bits` and
// `group_size`: the block linears' weights and their bytes as packed (codes, zero points, fp16
// steps and group indices) beside fp32, and the bits per weight that gives.
struct PackedFootprint {
    int64_t weights = 0;
    int64_t packed_bytes = 0;
    int64_t fp32_bytes = 0;
    double bits_per_weight = 0;
    std::string misfit;  // why the group size does not fit a linear; empty when it fits
};

PackedFootprint packed_footprint(const config::Recipe& source, int bits, int group_size);

}  // namespace lowbit::ui
