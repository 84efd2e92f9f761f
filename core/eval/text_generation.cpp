// sample_tokens: temperature and top-k sampling, one full forward per new token (no key/value
// cache: the models here are small, and the packed layers run in the same call path).
#include "lowbit/eval/text_generation.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace lowbit::eval {

std::vector<int64_t> sample_tokens(model::LanguageModelImpl& model,
                                   const std::vector<int64_t>& prompt,
                                   int64_t sample_vocab,
                                   const SamplingOptions& options) {
    if (prompt.empty()) {
        throw std::invalid_argument("generate: the prompt has no tokens");
    }
    const int64_t vocab = model.config().vocab_size;
    if (sample_vocab < 1 || sample_vocab > vocab) {
        throw std::invalid_argument("generate: the tokenizer's vocabulary (" +
                                    std::to_string(sample_vocab) + ") does not fit the model's (" +
                                    std::to_string(vocab) + ")");
    }
    torch::NoGradGuard no_grad;
    model.eval();
    const torch::Device device = model.parameters().front().device();
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(options.seed);
    std::vector<int64_t> history = prompt;
    std::vector<int64_t> generated;
    const auto context = static_cast<int64_t>(model.config().context);
    for (int64_t n = 0; n < options.new_tokens; ++n) {
        const int64_t start = std::max<int64_t>(0, static_cast<int64_t>(history.size()) - context);
        const torch::Tensor ids =
            torch::tensor(std::vector<int64_t>(history.begin() + start, history.end()),
                          torch::kLong)
                .unsqueeze(0)
                .to(device);
        // (1, T, V) -> the last position's logits over the tokenizer's ids, on the CPU in fp32.
        torch::Tensor logits =
            model.forward(ids).select(1, ids.size(1) - 1).squeeze(0).slice(0, 0, sample_vocab);
        logits = logits.to(torch::kCPU, torch::kFloat32);
        int64_t next = 0;
        if (options.temperature <= 0) {
            next = logits.argmax().item<int64_t>();
        } else {
            torch::Tensor scaled = logits / options.temperature;
            if (options.top_k > 0 && options.top_k < sample_vocab) {
                const torch::Tensor kth = std::get<0>(scaled.topk(options.top_k)).select(0, -1);
                scaled = scaled.masked_fill(scaled < kth, -std::numeric_limits<float>::infinity());
            }
            const torch::Tensor probs = torch::softmax(scaled, 0);
            next = torch::multinomial(probs, 1, false, gen).item<int64_t>();
        }
        history.push_back(next);
        generated.push_back(next);
    }
    return generated;
}

}  // namespace lowbit::eval
