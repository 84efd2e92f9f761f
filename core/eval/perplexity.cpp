// Windowed perplexity (see perplexity.h).
#include "lowbit/eval/perplexity.h"

#include "lowbit/util/autocast_guard.h"
#include "lowbit/util/exit_codes.h"

#include <algorithm>
#include <cmath>

namespace lowbit::eval {

PerplexityResult evaluate_perplexity(model::LanguageModelImpl& model,
                                     const std::vector<int64_t>& tokens,
                                     int context,
                                     int batch_size,
                                     const torch::Device& device,
                                     config::Precision precision) {
    const int64_t windows = static_cast<int64_t>(tokens.size()) / context;
    if (windows < 1) {
        throw util::BadInput("evaluation text has " + std::to_string(tokens.size()) +
                             " tokens, fewer than one window of " + std::to_string(context));
    }
    torch::NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    // (windows, context) view of the stream; copied per batch to the device.
    auto all = torch::from_blob(const_cast<int64_t*>(tokens.data()),
                                {windows, static_cast<int64_t>(context)},
                                torch::kInt64);
    double nll_sum = 0;
    int64_t scored = 0;
    for (int64_t start = 0; start < windows; start += batch_size) {
        const int64_t end = std::min<int64_t>(windows, start + batch_size);
        auto batch = all.slice(0, start, end).to(device);  // (b, context)
        auto inputs = batch.slice(1, 0, context - 1);      // (b, context - 1)
        auto targets = batch.slice(1, 1, context);         // (b, context - 1)
        util::AutocastGuard autocast(device.type(), precision == config::Precision::kBf16);
        auto logits = model.forward(inputs).to(torch::kFloat32);  // (b, context - 1, V)
        auto nll = torch::nn::functional::cross_entropy(
            logits.reshape({-1, logits.size(-1)}),
            targets.reshape({-1}),
            torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
        nll_sum += nll.item<double>();
        scored += targets.numel();
    }
    model.train(was_training);
    PerplexityResult result;
    result.windows = windows;
    result.scored_tokens = scored;
    result.mean_nll = nll_sum / static_cast<double>(scored);
    result.perplexity = std::exp(result.mean_nll);
    return result;
}

}  // namespace lowbit::eval
