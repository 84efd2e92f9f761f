// Perplexity with non-overlapping windows (the GPTQ / EfficientQAT convention of
// shared/data/README.md): the token stream is cut into floor(n / context) windows of `context`
// tokens, each scored independently (the first token of a window has no context and is not
// scored), and PPL = exp(mean token NLL over all windows). The tail shorter than a window is
// dropped, as in that convention.
#pragma once

#include "lowbit/config/recipe.h"
#include "lowbit/model/language_model.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace lowbit::eval {

struct PerplexityResult {
    double mean_nll = 0;  // nats per scored token
    double perplexity = 0;
    int64_t scored_tokens = 0;
    int64_t windows = 0;
};

// tokens: the whole evaluation text, already tokenized. Throws util::BadInput when the text is
// shorter than one window.
PerplexityResult evaluate_perplexity(model::LanguageModelImpl& model,
                                     const std::vector<int64_t>& tokens,
                                     int context,
                                     int batch_size,
                                     const torch::Device& device,
                                     config::Precision precision);

}  // namespace lowbit::eval
