// Sampling text from a language model (`lowbit generate`): autoregressive decoding with a
// temperature and an optional top-k cut, from a seeded generator so that the same seed gives the
// same text. Works with any model, packed layers included.
#pragma once

#include "lowbit/model/language_model.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace lowbit::eval {

struct SamplingOptions {
    int64_t new_tokens = 64;
    double temperature = 0.8;  // 0: greedy (the most likely token every time)
    int64_t top_k = 0;         // 0: the whole vocabulary
    uint64_t seed = 1;
};

// Appends `options.new_tokens` tokens to `prompt` (at least one id) and returns only the new
// ones. The model sees at most its context: longer histories are cut to their last `context`
// tokens. Ids at or beyond `sample_vocab` (padding rows of the embedding) are never drawn; pass
// the tokenizer's vocabulary size. The model runs in eval mode without gradients on its device.
std::vector<int64_t> sample_tokens(model::LanguageModelImpl& model,
                                   const std::vector<int64_t>& prompt,
                                   int64_t sample_vocab,
                                   const SamplingOptions& options);

}  // namespace lowbit::eval
